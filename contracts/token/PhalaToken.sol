// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC1363} from "@openzeppelin/contracts/token/ERC20/extensions/ERC1363.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

/// @title PhalaToken (PHA)
/// @notice The fee and staking token of the agent network: a fixed supply of 1,000,000,000 PHA
/// minted once at deployment, with EIP-2612 permit, ERC-5805 votes (for governance) and ERC-1363
/// transfer-and-call (so a billing account can be topped up with a single transfer).
/// @dev Votes are checkpointed by timestamp (ERC-6372 "mode=timestamp"), not block number, so that
/// governance periods are seconds on every chain (block times differ between L1 and L2s) and are
/// comparable with the timelock delay and the staking unbonding period they must cover.
contract PhalaToken is ERC20, ERC1363, ERC20Permit, ERC20Votes {
    /// @notice The whole supply, minted to the initial holder at deployment; nothing mints later.
    uint256 public constant TOTAL_SUPPLY = 1_000_000_000 ether;

    /// @param initialHolder Receives the whole fixed supply.
    constructor(address initialHolder) ERC20("Phala", "PHA") ERC20Permit("Phala") {
        _mint(initialHolder, TOTAL_SUPPLY);
    }

    /// @inheritdoc Nonces
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @notice ERC-6372 clock: the block timestamp.
    /// @return The current timestamp.
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @notice ERC-6372 clock description.
    /// @return "mode=timestamp".
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
