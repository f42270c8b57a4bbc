// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.28;

/// @title IVerifier
/// @notice A proof verifier the Coordinator pays and asks to check delivery proofs. It
///         answers (now or later) through Coordinator.finalizeProofVerification.
interface IVerifier {
    function getWallet() external view returns (address);
    function isSupportedToken(address token) external view returns (bool);
    function fee(address token) external view returns (uint256);
    function requestProofVerification(uint32 subscriptionId, uint32 interval, address node, bytes calldata proof)
        external;
}
