// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {Ownable} from "../utils/Ownable.sol";

/// @title Fee
/// @notice Protocol fee in basis points (10000 = 100 %) and the address receiving it.
contract Fee is Ownable {
    address public immutable FEE_RECIPIENT;
    uint16 public FEE;

    constructor(address feeRecipient, uint16 fee) {
        _initializeOwner(msg.sender);
        FEE_RECIPIENT = feeRecipient;
        FEE = fee;
    }

    function updateFee(uint16 newFee) external onlyOwner {
        FEE = newFee;
    }
}
