// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {IVerifier} from "../payments/IVerifier.sol";
import {Registry} from "../core/Registry.sol";
import {Coordinator} from "../core/Coordinator.sol";

/// @title AtomicVerifier
/// @notice Test verifier: a proof is valid when its first byte is non-zero. In atomic
///         mode (the default) it answers inside the delivery; in deferred mode it keeps
///         the request until its admin calls settle().
contract AtomicVerifier is IVerifier {
    error NotAdmin();
    error NotCoordinator();

    event ProofRequested(uint32 indexed subscriptionId, uint32 indexed interval, address indexed node, bytes proof);

    address private immutable ADMIN;
    Coordinator private immutable COORDINATOR;

    bool public atomic = true;
    mapping(address token => bool supported) public isSupportedToken;
    mapping(address token => uint256 amount) public fee;

    modifier onlyAdmin() {
        if (msg.sender != ADMIN) revert NotAdmin();
        _;
    }

    constructor(Registry registry) {
        ADMIN = msg.sender;
        COORDINATOR = Coordinator(registry.COORDINATOR());
        isSupportedToken[address(0)] = true;
    }

    receive() external payable {}

    function getWallet() external view returns (address) {
        return address(this);
    }

    function setTokenFee(address token, bool supported, uint256 amount) external onlyAdmin {
        isSupportedToken[token] = supported;
        fee[token] = amount;
    }

    function setAtomic(bool isAtomic) external onlyAdmin {
        atomic = isAtomic;
    }

    function requestProofVerification(uint32 subscriptionId, uint32 interval, address node, bytes calldata proof)
        external
    {
        if (msg.sender != address(COORDINATOR)) revert NotCoordinator();
        emit ProofRequested(subscriptionId, interval, node, proof);
        if (atomic) {
            COORDINATOR.finalizeProofVerification(subscriptionId, interval, node, proof.length > 0 && proof[0] != 0);
        }
    }

    function settle(uint32 subscriptionId, uint32 interval, address node, bool valid) external onlyAdmin {
        COORDINATOR.finalizeProofVerification(subscriptionId, interval, node, valid);
    }
}
