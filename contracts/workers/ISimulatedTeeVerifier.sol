// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "../interfaces/ICommonErrors.sol";

/// @title ISimulatedTeeVerifier
/// @notice Errors of SimulatedTeeVerifier.
interface ISimulatedTeeVerifier is ICommonErrors {
    error NotDevelopmentChain(uint256 chainId);
    error QuoteFromTheFuture(uint64 issuedAt);
    error WrongAttestationSigner(address signer);
}
