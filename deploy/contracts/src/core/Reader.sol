// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

import {Registry} from "./Registry.sol";
import {Coordinator} from "./Coordinator.sol";
import {Subscription} from "./Types.sol";

/// @title Reader
/// @notice Batch views nodes use for snapshot sync.
contract Reader {
    Coordinator private immutable COORDINATOR;

    constructor(Registry registry) {
        COORDINATOR = Coordinator(registry.COORDINATOR());
    }

    /// @notice Subscriptions startId <= id < endId (end exclusive; unknown ids are zero).
    function readSubscriptionBatch(uint32 startId, uint32 endId) external view returns (Subscription[] memory subs) {
        uint32 count = endId - startId;
        subs = new Subscription[](count);
        for (uint32 i = 0; i < count; i++) {
            subs[i] = COORDINATOR.getSubscription(startId + i);
        }
    }

    /// @notice redundancyCount of each (ids[i], intervals[i]) pair.
    function readRedundancyCountBatch(uint32[] calldata ids, uint32[] calldata intervals)
        external
        view
        returns (uint16[] memory counts)
    {
        counts = new uint16[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            counts[i] = COORDINATOR.redundancyCount(keccak256(abi.encode(ids[i], intervals[i])));
        }
    }
}
