// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {CallbackConsumer} from "../consumer/CallbackConsumer.sol";
import {DeliveryRecorder} from "./DeliveryRecorder.sol";

/// @title ExampleCallbackConsumer
/// @notice One-shot request with inputs; anyone may ask.
contract ExampleCallbackConsumer is CallbackConsumer, DeliveryRecorder {
    constructor(address registry) CallbackConsumer(registry) {}

    function requestCompute(
        string calldata containerId,
        bytes calldata inputs,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32) {
        return _requestCompute(containerId, inputs, redundancy, paymentToken, paymentAmount, wallet, verifier);
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
