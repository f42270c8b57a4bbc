// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

/// @title NodeManager
/// @notice Node registration as in the SDK v0.x Manager: anyone registers a node, the
///         node activates itself after a one-hour cooldown, and may deactivate itself.
///         A Coordinator deployed with a NodeManager only accepts deliveries from
///         active nodes.
contract NodeManager {
    enum NodeStatus {
        Inactive,
        Registered,
        Active
    }

    struct NodeInfo {
        NodeStatus status;
        uint32 cooldownStart;
    }

    error NodeNotRegisterable(address node, uint8 status);
    error NodeNotActivateable(uint8 status);
    error CooldownActive(uint32 cooldownStart);
    error NodeNotActive();

    event NodeRegistered(address indexed node, address indexed registerer, uint32 cooldownStart);
    event NodeActivated(address indexed node);
    event NodeDeactivated(address indexed node);

    uint256 public constant cooldown = 1 hours;

    mapping(address node => NodeInfo info) public nodeInfo;

    function registerNode(address node) external {
        NodeInfo storage info = nodeInfo[node];
        if (info.status != NodeStatus.Inactive) revert NodeNotRegisterable(node, uint8(info.status));
        info.status = NodeStatus.Registered;
        info.cooldownStart = uint32(block.timestamp);
        emit NodeRegistered(node, msg.sender, info.cooldownStart);
    }

    function activateNode() external {
        NodeInfo storage info = nodeInfo[msg.sender];
        if (info.status != NodeStatus.Registered) revert NodeNotActivateable(uint8(info.status));
        if (block.timestamp < uint256(info.cooldownStart) + cooldown) revert CooldownActive(info.cooldownStart);
        info.status = NodeStatus.Active;
        info.cooldownStart = 0;
        emit NodeActivated(msg.sender);
    }

    function deactivateNode() external {
        delete nodeInfo[msg.sender];
        emit NodeDeactivated(msg.sender);
    }

    function isActiveNode(address node) external view returns (bool) {
        return nodeInfo[node].status == NodeStatus.Active;
    }
}
