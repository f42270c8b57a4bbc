// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {Registry} from "./Registry.sol";
import {Inbox} from "./Inbox.sol";
import {Fee} from "./Fee.sol";
import {Subscription, ProofRequest} from "./Types.sol";
import {Wallet} from "../payments/Wallet.sol";
import {WalletFactory} from "../payments/WalletFactory.sol";
import {IVerifier} from "../payments/IVerifier.sol";
import {NodeManager} from "../registration/NodeManager.sol";
import {IConsumer} from "../consumer/IConsumer.sol";

/// @title Coordinator
/// @notice Subscriptions, delivery, payments and proof escrow (Infernet SDK v1.1.0
///         semantics). With a NodeManager set, only active nodes may deliver.
contract Coordinator {
    error InvalidWallet();
    error IntervalMismatch();
    error IntervalCompleted();
    error UnauthorizedVerifier();
    error NodeRespondedAlready();
    error SubscriptionNotFound();
    error ProofRequestNotFound();
    error NotSubscriptionOwner();
    error SubscriptionCompleted();
    error SubscriptionNotActive();
    error UnsupportedVerifierToken();
    error Reentrancy();
    error NodeNotActive();

    event SubscriptionCreated(uint32 indexed id);
    event SubscriptionCancelled(uint32 indexed id);
    event SubscriptionFulfilled(uint32 indexed id, address indexed node);
    event ProofVerified(
        uint32 indexed id, uint32 indexed interval, address indexed node, bool active, address verifier, bool valid
    );

    uint32 private constant CANCELLED = type(uint32).max;
    uint256 private constant PROOF_WINDOW = 1 weeks;
    uint16 private constant BASIS_POINTS = 10_000;

    Inbox private immutable INBOX;
    Fee private immutable FEE;
    WalletFactory private immutable WALLET_FACTORY;
    /// @notice Zero when node registration is off (plain SDK v1 behaviour).
    NodeManager public immutable NODE_MANAGER;

    /// @notice Next subscription id to assign.
    uint32 public id = 1;

    mapping(uint32 subscriptionId => Subscription sub) private subscriptions;
    mapping(bytes32 key => bool responded) public nodeResponded;
    mapping(bytes32 key => uint16 count) public redundancyCount;
    mapping(bytes32 key => ProofRequest request) public proofRequests;

    uint256 private locked = 1;

    modifier nonReentrant() {
        if (locked != 1) revert Reentrancy();
        locked = 2;
        _;
        locked = 1;
    }

    modifier onlyActiveNode() {
        if (address(NODE_MANAGER) != address(0) && !NODE_MANAGER.isActiveNode(msg.sender)) revert NodeNotActive();
        _;
    }

    constructor(Registry registry, NodeManager nodeManager) {
        INBOX = Inbox(registry.INBOX());
        FEE = Fee(registry.FEE());
        WALLET_FACTORY = WalletFactory(registry.WALLET_FACTORY());
        NODE_MANAGER = nodeManager;
    }

    function getSubscription(uint32 subscriptionId) external view returns (Subscription memory) {
        return subscriptions[subscriptionId];
    }

    function createSubscription(
        string calldata containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32) {
        return _store(
            Subscription({
                owner: msg.sender,
                activeAt: uint32(block.timestamp) + period,
                period: period,
                frequency: frequency,
                redundancy: redundancy,
                containerId: keccak256(abi.encode(containerId)),
                lazy: lazy,
                verifier: payable(verifier),
                paymentAmount: paymentAmount,
                paymentToken: paymentToken,
                wallet: payable(wallet)
            })
        );
    }

    function cancelSubscription(uint32 subscriptionId) external {
        if (subscriptions[subscriptionId].owner != msg.sender) revert NotSubscriptionOwner();
        subscriptions[subscriptionId].activeAt = CANCELLED;
        emit SubscriptionCancelled(subscriptionId);
    }

    function getSubscriptionInterval(uint32 activeAt, uint32 period) public view returns (uint32) {
        if (period == 0) return 1;
        unchecked {
            return ((uint32(block.timestamp) - activeAt) / period) + 1;
        }
    }

    function deliverCompute(
        uint32 subscriptionId,
        uint32 deliveryInterval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address nodeWallet
    ) external nonReentrant onlyActiveNode {
        _deliver(subscriptionId, deliveryInterval, input, output, proof, nodeWallet);
    }

    /// @notice Settles an escrowed delivery. Before expiry only the subscription's
    ///         verifier may answer; afterwards anyone may, and the node is paid.
    function finalizeProofVerification(uint32 subscriptionId, uint32 interval, address node, bool valid) external {
        bytes32 key = _nodeKey(subscriptionId, interval, node);
        ProofRequest memory request = proofRequests[key];
        if (request.expiry == 0) revert ProofRequestNotFound();
        Subscription memory sub = subscriptions[subscriptionId];
        bool active = block.timestamp < request.expiry;
        if (active && msg.sender != sub.verifier) revert UnauthorizedVerifier();
        delete proofRequests[key];

        Wallet consumerWallet = Wallet(sub.wallet);
        Wallet nodeWallet = Wallet(payable(request.nodeWallet));
        consumerWallet.cUnlock(sub.owner, sub.paymentToken, request.consumerEscrowed);
        nodeWallet.cUnlock(node, sub.paymentToken, sub.paymentAmount);
        if (!active || valid) {
            consumerWallet.cTransfer(sub.owner, sub.paymentToken, request.nodeWallet, request.consumerEscrowed);
        } else {
            nodeWallet.cTransfer(node, sub.paymentToken, sub.wallet, sub.paymentAmount);
        }
        emit ProofVerified(subscriptionId, interval, node, active, sub.verifier, valid);
    }

    function _store(Subscription memory sub) internal returns (uint32 subscriptionId) {
        subscriptionId = id++;
        subscriptions[subscriptionId] = sub;
        emit SubscriptionCreated(subscriptionId);
    }

    function _deliver(
        uint32 subscriptionId,
        uint32 deliveryInterval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        address nodeWallet
    ) internal {
        Subscription memory sub = subscriptions[subscriptionId];
        if (sub.owner == address(0)) revert SubscriptionNotFound();
        if (uint32(block.timestamp) < sub.activeAt) revert SubscriptionNotActive();
        uint32 interval = getSubscriptionInterval(sub.activeAt, sub.period);
        if (interval != deliveryInterval) revert IntervalMismatch();
        if (interval > sub.frequency) revert SubscriptionCompleted();

        bytes32 intervalKey = keccak256(abi.encode(subscriptionId, interval));
        uint16 responses = redundancyCount[intervalKey];
        if (responses == sub.redundancy) revert IntervalCompleted();
        responses += 1;
        redundancyCount[intervalKey] = responses;

        bytes32 nodeKey = _nodeKey(subscriptionId, interval, msg.sender);
        if (nodeResponded[nodeKey]) revert NodeRespondedAlready();
        nodeResponded[nodeKey] = true;

        if (sub.paymentAmount > 0) _pay(sub, subscriptionId, interval, nodeKey, nodeWallet, proof);

        if (sub.lazy) {
            uint256 index =
                INBOX.writeViaCoordinator(sub.containerId, msg.sender, subscriptionId, interval, input, output, proof);
            IConsumer(sub.owner).rawReceiveCompute(
                subscriptionId, interval, responses, msg.sender, "", "", "", sub.containerId, index
            );
        } else {
            IConsumer(sub.owner).rawReceiveCompute(
                subscriptionId, interval, responses, msg.sender, input, output, proof, bytes32(0), 0
            );
        }
        emit SubscriptionFulfilled(subscriptionId, msg.sender);
    }

    function _pay(
        Subscription memory sub,
        uint32 subscriptionId,
        uint32 interval,
        bytes32 nodeKey,
        address nodeWallet,
        bytes calldata proof
    ) private {
        if (!WALLET_FACTORY.isValidWallet(nodeWallet) || !WALLET_FACTORY.isValidWallet(sub.wallet)) {
            revert InvalidWallet();
        }
        uint16 feeBps = FEE.FEE();
        address feeRecipient = FEE.FEE_RECIPIENT();
        Wallet consumerWallet = Wallet(sub.wallet);
        address token = sub.paymentToken;

        // The protocol takes its fee from both sides of the trade, hence twice the rate.
        uint256 protocolFee = _fee(sub.paymentAmount, 2 * feeBps);
        consumerWallet.cTransfer(sub.owner, token, feeRecipient, protocolFee);

        if (sub.verifier == address(0)) {
            consumerWallet.cTransfer(sub.owner, token, nodeWallet, sub.paymentAmount - protocolFee);
            return;
        }

        IVerifier verifier = IVerifier(sub.verifier);
        if (!verifier.isSupportedToken(token)) revert UnsupportedVerifierToken();
        uint256 verifierFee = verifier.fee(token);
        uint256 verifierProtocolFee = _fee(verifierFee, feeBps);
        consumerWallet.cTransfer(sub.owner, token, feeRecipient, verifierProtocolFee);
        consumerWallet.cTransfer(sub.owner, token, verifier.getWallet(), verifierFee - verifierProtocolFee);

        // The node stakes the full payment; it is slashed if the proof is found invalid.
        Wallet(payable(nodeWallet)).cLock(msg.sender, token, sub.paymentAmount);
        uint256 consumerEscrowed = sub.paymentAmount - protocolFee - verifierFee;
        consumerWallet.cLock(sub.owner, token, consumerEscrowed);
        proofRequests[nodeKey] = ProofRequest(uint32(block.timestamp + PROOF_WINDOW), nodeWallet, consumerEscrowed);
        verifier.requestProofVerification(subscriptionId, interval, msg.sender, proof);
    }

    function _fee(uint256 amount, uint256 feeBps) private pure returns (uint256) {
        return amount * feeBps / BASIS_POINTS;
    }

    function _nodeKey(uint32 subscriptionId, uint32 interval, address node) private pure returns (bytes32) {
        return keccak256(abi.encode(subscriptionId, interval, node));
    }
}
