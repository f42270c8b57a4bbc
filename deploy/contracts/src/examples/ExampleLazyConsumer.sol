// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {SubscriptionConsumer} from "../consumer/SubscriptionConsumer.sol";
import {InboxItem} from "../core/Types.sol";
import {DeliveryRecorder} from "./DeliveryRecorder.sol";

/// @title ExampleLazyConsumer
/// @notice Lazy subscriptions: outputs land in the Inbox, and on each notification this
///         consumer reads the item back and records it.
contract ExampleLazyConsumer is SubscriptionConsumer, DeliveryRecorder {
    mapping(uint32 subscriptionId => bytes inputs) private subscriptionInputs;

    constructor(address registry) SubscriptionConsumer(registry) {}

    function requestLazyCompute(
        string calldata containerId,
        bytes calldata inputs,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32 subscriptionId) {
        subscriptionId = _createComputeSubscription(
            containerId, frequency, period, redundancy, true, paymentToken, paymentAmount, wallet, verifier
        );
        subscriptionInputs[subscriptionId] = inputs;
    }

    function getContainerInputs(uint32 subscriptionId, uint32, uint32, address)
        external
        view
        override
        returns (bytes memory)
    {
        return subscriptionInputs[subscriptionId];
    }

    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata,
        bytes calldata,
        bytes calldata,
        bytes32 containerId,
        uint256 index
    ) internal override {
        InboxItem memory item = INBOX.read(containerId, node, index);
        _record(Delivery(subscriptionId, interval, redundancy, node, item.input, item.output, item.proof, containerId, index));
    }
}
