// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

/// @title Allowlist
/// @notice Restricts which nodes a consumer accepts deliveries from.
abstract contract Allowlist {
    error NodeNotAllowed();

    mapping(address node => bool allowed) private allowedNodes;

    modifier onlyAllowedNode(address node) {
        if (!allowedNodes[node]) revert NodeNotAllowed();
        _;
    }

    constructor(address[] memory initialAllowed) {
        for (uint256 i = 0; i < initialAllowed.length; i++) {
            allowedNodes[initialAllowed[i]] = true;
        }
    }

    function isAllowedNode(address node) external view returns (bool) {
        return allowedNodes[node];
    }

    function _updateAllowlist(address[] memory nodes, bool[] memory statuses) internal {
        for (uint256 i = 0; i < nodes.length; i++) {
            allowedNodes[nodes[i]] = statuses[i];
        }
    }
}
