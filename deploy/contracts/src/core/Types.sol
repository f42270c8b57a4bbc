// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

/// @notice A compute subscription; field order is the ABI tuple order nodes depend on.
struct Subscription {
    address owner;
    uint32 activeAt;
    uint32 period;
    uint32 frequency;
    uint16 redundancy;
    bytes32 containerId;
    bool lazy;
    address payable verifier;
    uint256 paymentAmount;
    address paymentToken;
    address payable wallet;
}

/// @notice Escrow record of a delivery awaiting proof verification.
struct ProofRequest {
    uint32 expiry;
    address nodeWallet;
    uint256 consumerEscrowed;
}

/// @notice A lazily delivered output kept by the Inbox.
struct InboxItem {
    uint32 timestamp;
    uint32 subscriptionId;
    uint32 interval;
    bytes input;
    bytes output;
    bytes proof;
}
