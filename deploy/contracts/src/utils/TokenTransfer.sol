// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

/// @title TokenTransfer
/// @notice Moves ETH (token == address(0)) or ERC-20 tokens, tolerating tokens whose
///         `transfer` returns nothing.
library TokenTransfer {
    error TransferFailed();

    function balanceOf(address token, address account) internal view returns (uint256) {
        if (token == address(0)) return account.balance;
        (bool ok, bytes memory data) =
            token.staticcall(abi.encodeWithSignature("balanceOf(address)", account));
        if (!ok || data.length < 32) revert TransferFailed();
        return abi.decode(data, (uint256));
    }

    function send(address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        if (token == address(0)) {
            (bool sent,) = payable(to).call{value: amount}("");
            if (!sent) revert TransferFailed();
            return;
        }
        (bool ok, bytes memory data) =
            token.call(abi.encodeWithSignature("transfer(address,uint256)", to, amount));
        // A token without code "succeeds" on a bare call, so insist on code being there.
        if (!ok || token.code.length == 0 || (data.length > 0 && !abi.decode(data, (bool)))) {
            revert TransferFailed();
        }
    }
}
