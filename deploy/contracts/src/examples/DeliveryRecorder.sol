// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

/// @title DeliveryRecorder
/// @notice Keeps every delivery an example consumer receives, so demos and tests can
///         read results back.
abstract contract DeliveryRecorder {
    struct Delivery {
        uint32 subscriptionId;
        uint32 interval;
        uint16 redundancy;
        address node;
        bytes input;
        bytes output;
        bytes proof;
        bytes32 containerId;
        uint256 index;
    }

    event ComputeReceived(
        uint32 indexed subscriptionId, uint32 indexed interval, address indexed node, uint16 redundancy, bytes output
    );

    Delivery[] private received;

    function deliveryCount() external view returns (uint256) {
        return received.length;
    }

    function getDelivery(uint256 position) external view returns (Delivery memory) {
        return received[position];
    }

    function _record(Delivery memory delivery) internal {
        received.push(delivery);
        emit ComputeReceived(delivery.subscriptionId, delivery.interval, delivery.node, delivery.redundancy, delivery.output);
    }
}
