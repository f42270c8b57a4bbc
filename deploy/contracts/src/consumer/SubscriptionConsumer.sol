// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {BaseConsumer} from "./BaseConsumer.sol";

/// @title SubscriptionConsumer
/// @notice Recurring subscriptions; the inheriting contract supplies per-interval inputs
///         by overriding getContainerInputs. The first interval starts `period` seconds
///         after creation.
abstract contract SubscriptionConsumer is BaseConsumer {
    constructor(address registry) BaseConsumer(registry) {}

    function _createComputeSubscription(
        string memory containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) internal returns (uint32) {
        return COORDINATOR.createSubscription(
            containerId, frequency, period, redundancy, lazy, paymentToken, paymentAmount, wallet, verifier
        );
    }

    function _cancelComputeSubscription(uint32 subscriptionId) internal {
        COORDINATOR.cancelSubscription(subscriptionId);
    }
}
