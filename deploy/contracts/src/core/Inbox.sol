// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {Registry} from "./Registry.sol";
import {InboxItem} from "./Types.sol";

/// @title Inbox
/// @notice Keeps outputs of lazy subscriptions (and anyone's direct writes), indexed by
///         container id and delivering node.
contract Inbox {
    error NotCoordinator();

    event NewInboxItem(bytes32 indexed containerId, address indexed node, uint256 index);

    address private immutable COORDINATOR;

    mapping(bytes32 containerId => mapping(address node => InboxItem[] list)) public items;

    constructor(Registry registry) {
        COORDINATOR = registry.COORDINATOR();
    }

    function writeViaCoordinator(
        bytes32 containerId,
        address node,
        uint32 subscriptionId,
        uint32 interval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external returns (uint256) {
        if (msg.sender != COORDINATOR) revert NotCoordinator();
        return _write(containerId, node, subscriptionId, interval, input, output, proof);
    }

    /// @notice Anyone may store an item under their own address (no subscription).
    function write(bytes32 containerId, bytes calldata input, bytes calldata output, bytes calldata proof)
        external
        returns (uint256)
    {
        return _write(containerId, msg.sender, 0, 0, input, output, proof);
    }

    function read(bytes32 containerId, address node, uint256 index) external view returns (InboxItem memory) {
        return items[containerId][node][index];
    }

    function _write(
        bytes32 containerId,
        address node,
        uint32 subscriptionId,
        uint32 interval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) private returns (uint256 index) {
        InboxItem[] storage list = items[containerId][node];
        index = list.length;
        list.push(InboxItem(uint32(block.timestamp), subscriptionId, interval, input, output, proof));
        emit NewInboxItem(containerId, node, index);
    }
}
