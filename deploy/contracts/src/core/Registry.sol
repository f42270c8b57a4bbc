// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

/// @title Registry
/// @notice Immutable address book: the only address a node is configured with.
contract Registry {
    address public immutable COORDINATOR;
    address public immutable INBOX;
    address public immutable READER;
    address public immutable FEE;
    address public immutable WALLET_FACTORY;

    /// @dev The suite is deployed with precomputed addresses, since the other contracts
    ///      read this Registry in their constructors.
    constructor(address coordinator, address inbox, address reader, address fee, address walletFactory) {
        COORDINATOR = coordinator;
        INBOX = inbox;
        READER = reader;
        FEE = fee;
        WALLET_FACTORY = walletFactory;
    }
}
