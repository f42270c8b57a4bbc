// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {SubscriptionConsumer} from "../consumer/SubscriptionConsumer.sol";
import {Delegator} from "../consumer/Delegator.sol";
import {DeliveryRecorder} from "./DeliveryRecorder.sol";

/// @title ExampleDelegatorConsumer
/// @notice Owns subscriptions created from EIP-712 signatures of its signer; feeds the
///         stored inputs to every interval.
contract ExampleDelegatorConsumer is SubscriptionConsumer, Delegator, DeliveryRecorder {
    error NotAdmin();

    address private immutable ADMIN;
    bytes public inputs;

    constructor(address registry, address signer) SubscriptionConsumer(registry) Delegator(signer) {
        ADMIN = msg.sender;
    }

    function updateSigner(address newSigner) external {
        if (msg.sender != ADMIN) revert NotAdmin();
        _updateSigner(newSigner);
    }

    function setInputs(bytes calldata newInputs) external {
        inputs = newInputs;
    }

    function getContainerInputs(uint32, uint32, uint32, address) external view override returns (bytes memory) {
        return inputs;
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
