// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {Registry} from "../core/Registry.sol";
import {Inbox} from "../core/Inbox.sol";
import {EIP712Coordinator} from "../core/EIP712Coordinator.sol";
import {IConsumer} from "./IConsumer.sol";

/// @title BaseConsumer
/// @notice Receives deliveries from the Coordinator and hands them to _receiveCompute.
abstract contract BaseConsumer is IConsumer {
    error NotCoordinator();

    EIP712Coordinator internal immutable COORDINATOR;
    Inbox internal immutable INBOX;

    constructor(address registry) {
        COORDINATOR = EIP712Coordinator(Registry(registry).COORDINATOR());
        INBOX = Inbox(Registry(registry).INBOX());
    }

    function rawReceiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) external {
        if (msg.sender != address(COORDINATOR)) revert NotCoordinator();
        _receiveCompute(subscriptionId, interval, redundancy, node, input, output, proof, containerId, index);
    }

    function getContainerInputs(uint32 subscriptionId, uint32 interval, uint32 timestamp, address caller)
        external
        view
        virtual
        returns (bytes memory);

    /// @dev For lazy subscriptions input/output/proof are empty and (containerId, index)
    ///      locate the item in the Inbox under `node`.
    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) internal virtual;
}
