// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {CallbackConsumer} from "../consumer/CallbackConsumer.sol";

/// @title ReentrantConsumer
/// @notice Test consumer that tries to deliver again from inside its callback; the
///         Coordinator must refuse with Reentrancy().
contract ReentrantConsumer is CallbackConsumer {
    constructor(address registry) CallbackConsumer(registry) {}

    function requestCompute(string calldata containerId, uint16 redundancy) external returns (uint32) {
        return _requestCompute(containerId, "", redundancy, address(0), 0, address(0), address(0));
    }

    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16,
        address,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32,
        uint256
    ) internal override {
        COORDINATOR.deliverCompute(subscriptionId, interval, input, output, proof, address(0));
    }
}
