// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {BaseConsumer} from "./BaseConsumer.sol";

/// @title CallbackConsumer
/// @notice One-shot requests: a subscription with frequency 1 and period 0, active at
///         once, whose container inputs are stored here by subscription id.
abstract contract CallbackConsumer is BaseConsumer {
    mapping(uint32 subscriptionId => bytes inputs) internal subscriptionInputs;

    constructor(address registry) BaseConsumer(registry) {}

    function _requestCompute(
        string memory containerId,
        bytes memory inputs,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) internal returns (uint32 subscriptionId) {
        subscriptionId =
            COORDINATOR.createSubscription(containerId, 1, 0, redundancy, false, paymentToken, paymentAmount, wallet, verifier);
        subscriptionInputs[subscriptionId] = inputs;
    }

    function getContainerInputs(uint32 subscriptionId, uint32, uint32, address)
        external
        view
        virtual
        override
        returns (bytes memory)
    {
        return subscriptionInputs[subscriptionId];
    }
}
