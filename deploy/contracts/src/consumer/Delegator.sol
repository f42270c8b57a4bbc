// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {IDelegator} from "./IConsumer.sol";

/// @title Delegator
/// @notice Names the EOA whose EIP-712 signatures create subscriptions owned by this contract.
abstract contract Delegator is IDelegator {
    address private signer;

    constructor(address initialSigner) {
        signer = initialSigner;
    }

    function getSigner() external view returns (address) {
        return signer;
    }

    function _updateSigner(address newSigner) internal {
        signer = newSigner;
    }
}
