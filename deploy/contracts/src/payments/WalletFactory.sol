// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {Registry} from "../core/Registry.sol";
import {Wallet} from "./Wallet.sol";

/// @title WalletFactory
/// @notice Creates Wallets; the Coordinator only pays from and to wallets made here.
contract WalletFactory {
    event WalletCreated(address indexed caller, address indexed owner, address wallet);

    Registry private immutable REGISTRY;

    mapping(address wallet => bool valid) public isValidWallet;

    constructor(Registry registry) {
        REGISTRY = registry;
    }

    function createWallet(address initialOwner) external returns (address) {
        address wallet = address(new Wallet(REGISTRY, initialOwner));
        isValidWallet[wallet] = true;
        emit WalletCreated(msg.sender, initialOwner, wallet);
        return wallet;
    }
}
