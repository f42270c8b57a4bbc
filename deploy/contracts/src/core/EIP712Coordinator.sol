// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {Coordinator} from "./Coordinator.sol";
import {Registry} from "./Registry.sol";
import {Subscription} from "./Types.sol";
import {NodeManager} from "../registration/NodeManager.sol";
import {IDelegator} from "../consumer/IConsumer.sol";

/// @title EIP712Coordinator
/// @notice The Coordinator plus delegated subscriptions: a consumer's signer signs a
///         Subscription off-chain and any node creates it on first delivery.
contract EIP712Coordinator is Coordinator {
    error SignerMismatch();
    error SignatureExpired();
    error InvalidSignature();

    string public constant EIP712_NAME = "InfernetCoordinator";
    string public constant EIP712_VERSION = "1";

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant SUBSCRIPTION_TYPEHASH = keccak256(
        "Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,uint16 redundancy,bytes32 containerId,bool lazy,address verifier,uint256 paymentAmount,address paymentToken,address wallet)"
    );
    bytes32 private constant DELEGATE_TYPEHASH = keccak256(
        "DelegateSubscription(uint32 nonce,uint32 expiry,Subscription sub)Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,uint16 redundancy,bytes32 containerId,bool lazy,address verifier,uint256 paymentAmount,address paymentToken,address wallet)"
    );

    /// @notice keccak256(abi.encode(owner, nonce)) => subscription id created from it.
    mapping(bytes32 key => uint32 subscriptionId) public delegateCreatedIds;
    /// @notice Highest nonce used per owner: a hint for signers, not a sequence.
    mapping(address owner => uint32 nonce) public maxSubscriberNonce;

    constructor(Registry registry, NodeManager nodeManager) Coordinator(registry, nodeManager) {}

    /// @notice ERC-5267 domain description (name, version, chainId, verifyingContract).
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", EIP712_NAME, EIP712_VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    function createSubscriptionDelegatee(
        uint32 nonce,
        uint32 expiry,
        Subscription calldata sub,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint32) {
        return _createDelegated(nonce, expiry, sub, v, r, s);
    }

    function deliverComputeDelegatee(
        uint32 nonce,
        uint32 expiry,
        Subscription calldata sub,
        uint8 v,
        bytes32 r,
        bytes32 s,
        uint32 deliveryInterval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address nodeWallet
    ) external nonReentrant onlyActiveNode {
        uint32 subscriptionId = _createDelegated(nonce, expiry, sub, v, r, s);
        _deliver(subscriptionId, deliveryInterval, input, output, proof, nodeWallet);
    }

    function _createDelegated(
        uint32 nonce,
        uint32 expiry,
        Subscription calldata sub,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private returns (uint32 subscriptionId) {
        bytes32 key = keccak256(abi.encode(sub.owner, nonce));
        subscriptionId = delegateCreatedIds[key];
        // An existing subscription is served even after its signature expired.
        if (subscriptionId != 0) return subscriptionId;
        if (uint32(block.timestamp) >= expiry) revert SignatureExpired();

        address signer = _recover(_digest(nonce, expiry, sub), v, r, s);
        if (signer != IDelegator(sub.owner).getSigner()) revert SignerMismatch();

        subscriptionId = _store(sub);
        delegateCreatedIds[key] = subscriptionId;
        if (nonce > maxSubscriberNonce[sub.owner]) maxSubscriberNonce[sub.owner] = nonce;
    }

    function _digest(uint32 nonce, uint32 expiry, Subscription calldata sub) private view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256(bytes(EIP712_NAME)), keccak256(bytes(EIP712_VERSION)), block.chainid, address(this)
            )
        );
        bytes32 subHash = keccak256(
            abi.encode(
                SUBSCRIPTION_TYPEHASH,
                sub.owner,
                sub.activeAt,
                sub.period,
                sub.frequency,
                sub.redundancy,
                sub.containerId,
                sub.lazy,
                sub.verifier,
                sub.paymentAmount,
                sub.paymentToken,
                sub.wallet
            )
        );
        bytes32 structHash = keccak256(abi.encode(DELEGATE_TYPEHASH, nonce, expiry, subHash));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
    }

    function _recover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) private pure returns (address signer) {
        if (v != 27 && v != 28) revert InvalidSignature();
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature();
    }
}
