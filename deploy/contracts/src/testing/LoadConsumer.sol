// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {BaseConsumer} from "../consumer/BaseConsumer.sol";

/// @title LoadConsumer
/// @notice Creates many subscriptions or callback requests per transaction, for load
///         tests and benchmarks. All of them share one input blob.
contract LoadConsumer is BaseConsumer {
    bytes public inputs;
    uint256 public deliveryCount;

    constructor(address registry) BaseConsumer(registry) {}

    /// @return firstId id of the first request; the rest follow consecutively.
    function requestComputes(
        string calldata containerId,
        bytes calldata newInputs,
        uint32 count,
        uint16 redundancy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32 firstId) {
        inputs = newInputs;
        firstId = COORDINATOR.id();
        for (uint32 i = 0; i < count; i++) {
            COORDINATOR.createSubscription(containerId, 1, 0, redundancy, false, paymentToken, paymentAmount, wallet, verifier);
        }
    }

    /// @return firstId id of the first subscription; the rest follow consecutively.
    function createSubscriptions(
        string calldata containerId,
        uint32 count,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32 firstId) {
        firstId = COORDINATOR.id();
        for (uint32 i = 0; i < count; i++) {
            COORDINATOR.createSubscription(
                containerId, frequency, period, redundancy, lazy, paymentToken, paymentAmount, wallet, verifier
            );
        }
    }

    function getContainerInputs(uint32, uint32, uint32, address) external view override returns (bytes memory) {
        return inputs;
    }

    function _receiveCompute(uint32, uint32, uint16, address, bytes calldata, bytes calldata, bytes calldata, bytes32, uint256)
        internal
        override
    {
        deliveryCount += 1;
    }
}
