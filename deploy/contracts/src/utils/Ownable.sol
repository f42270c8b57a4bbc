// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

/// @title Ownable
/// @notice Single-owner access control with a two-step handover, presenting the same
///         interface (functions, events, errors) as the SDK's Fee and Wallet owners.
abstract contract Ownable {
    error Unauthorized();
    error NewOwnerIsZeroAddress();
    error NoHandoverRequest();
    error AlreadyInitialized();

    event OwnershipTransferred(address indexed oldOwner, address indexed newOwner);
    event OwnershipHandoverRequested(address indexed pendingOwner);
    event OwnershipHandoverCanceled(address indexed pendingOwner);

    uint64 private constant HANDOVER_VALIDITY = 48 hours;

    address private _owner;
    mapping(address => uint256) private _handoverExpiry;

    modifier onlyOwner() {
        if (msg.sender != _owner) revert Unauthorized();
        _;
    }

    function owner() public view returns (address) {
        return _owner;
    }

    function ownershipHandoverExpiresAt(address pendingOwner) public view returns (uint256) {
        return _handoverExpiry[pendingOwner];
    }

    function transferOwnership(address newOwner) public payable onlyOwner {
        if (newOwner == address(0)) revert NewOwnerIsZeroAddress();
        _setOwner(newOwner);
    }

    function renounceOwnership() public payable onlyOwner {
        _setOwner(address(0));
    }

    function requestOwnershipHandover() public payable {
        _handoverExpiry[msg.sender] = block.timestamp + HANDOVER_VALIDITY;
        emit OwnershipHandoverRequested(msg.sender);
    }

    function cancelOwnershipHandover() public payable {
        delete _handoverExpiry[msg.sender];
        emit OwnershipHandoverCanceled(msg.sender);
    }

    function completeOwnershipHandover(address pendingOwner) public payable onlyOwner {
        if (block.timestamp > _handoverExpiry[pendingOwner]) revert NoHandoverRequest();
        delete _handoverExpiry[pendingOwner];
        _setOwner(pendingOwner);
    }

    /// @dev Called once from the inheriting constructor.
    function _initializeOwner(address newOwner) internal {
        if (_owner != address(0)) revert AlreadyInitialized();
        _setOwner(newOwner);
    }

    function _setOwner(address newOwner) private {
        emit OwnershipTransferred(_owner, newOwner);
        _owner = newOwner;
    }
}
