// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {SubscriptionConsumer} from "../consumer/SubscriptionConsumer.sol";
import {DeliveryRecorder} from "./DeliveryRecorder.sol";

/// @title ExampleSubscriptionConsumer
/// @notice Recurring subscriptions whose container inputs come from getContainerInputs:
///         abi.encode(subscriptionId, interval, timestamp, caller, inputs).
contract ExampleSubscriptionConsumer is SubscriptionConsumer, DeliveryRecorder {
    bytes public inputs;

    constructor(address registry) SubscriptionConsumer(registry) {}

    function setInputs(bytes calldata newInputs) external {
        inputs = newInputs;
    }

    function createSubscription(
        string calldata containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32) {
        return _createComputeSubscription(
            containerId, frequency, period, redundancy, lazy, paymentToken, paymentAmount, wallet, verifier
        );
    }

    function cancelSubscription(uint32 subscriptionId) external {
        _cancelComputeSubscription(subscriptionId);
    }

    function getContainerInputs(uint32 subscriptionId, uint32 interval, uint32 timestamp, address caller)
        external
        view
        override
        returns (bytes memory)
    {
        return abi.encode(subscriptionId, interval, timestamp, caller, inputs);
    }

    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) internal override {
        _record(Delivery(subscriptionId, interval, redundancy, node, input, output, proof, containerId, index));
    }
}
