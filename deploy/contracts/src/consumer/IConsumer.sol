// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

/// @notice What the Coordinator and nodes call on a consumer contract.
interface IConsumer {
    function rawReceiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) external;

    function getContainerInputs(uint32 subscriptionId, uint32 interval, uint32 timestamp, address caller)
        external
        view
        returns (bytes memory);
}

/// @notice A consumer that names the EOA allowed to sign delegated subscriptions for it.
interface IDelegator {
    function getSigner() external view returns (address);
}
