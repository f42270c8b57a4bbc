// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {Ownable} from "../utils/Ownable.sol";
import {TokenTransfer} from "../utils/TokenTransfer.sol";
import {Registry} from "../core/Registry.sol";

/// @title Wallet
/// @notice Payment escrow owned by a consumer or a node. The owner grants spenders
///         (consumer contracts, node accounts) allowances per token; the Coordinator
///         spends, locks and unlocks those allowances. Token address 0 means ETH.
contract Wallet is Ownable {
    error NotCoordinator();
    error InsufficientFunds();
    error InsufficientAllowance();

    event Withdrawl(address token, uint256 amount);
    event Approval(address indexed spender, address token, uint256 amount);
    event Escrow(address indexed spender, address token, uint256 amount, bool locked);
    event Transfer(address indexed spender, address token, address indexed to, uint256 amount);

    address private immutable COORDINATOR;

    mapping(address spender => mapping(address token => uint256 amount)) public allowance;
    mapping(address token => uint256 amount) private lockedBalance;

    modifier onlyCoordinator() {
        if (msg.sender != COORDINATOR) revert NotCoordinator();
        _;
    }

    constructor(Registry registry, address initialOwner) {
        COORDINATOR = registry.COORDINATOR();
        _initializeOwner(initialOwner);
    }

    receive() external payable {}

    function withdraw(address token, uint256 amount) external onlyOwner {
        _requireUnlocked(token, amount);
        TokenTransfer.send(token, owner(), amount);
        emit Withdrawl(token, amount);
    }

    /// @notice Sets (does not add to) a spender's allowance.
    function approve(address spender, address token, uint256 amount) external onlyOwner {
        allowance[spender][token] = amount;
        emit Approval(spender, token, amount);
    }

    function cTransfer(address spender, address token, address to, uint256 amount) external onlyCoordinator {
        _spendAllowance(spender, token, amount);
        _requireUnlocked(token, amount);
        TokenTransfer.send(token, to, amount);
        emit Transfer(spender, token, to, amount);
    }

    function cLock(address spender, address token, uint256 amount) external onlyCoordinator {
        _spendAllowance(spender, token, amount);
        _requireUnlocked(token, amount);
        lockedBalance[token] += amount;
        emit Escrow(spender, token, amount, true);
    }

    function cUnlock(address spender, address token, uint256 amount) external onlyCoordinator {
        lockedBalance[token] -= amount;
        allowance[spender][token] += amount;
        emit Escrow(spender, token, amount, false);
    }

    function _spendAllowance(address spender, address token, uint256 amount) private {
        uint256 granted = allowance[spender][token];
        if (granted < amount) revert InsufficientAllowance();
        allowance[spender][token] = granted - amount;
    }

    function _requireUnlocked(address token, uint256 amount) private view {
        if (TokenTransfer.balanceOf(token, address(this)) < lockedBalance[token] + amount) {
            revert InsufficientFunds();
        }
    }
}
