// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IKeyRegistry} from "../../contracts/interfaces/IKeyRegistry.sol";
import {AgentConsumer} from "../../contracts/consumer/AgentConsumer.sol";

/// @notice Consumer used by the router tests: forwards any request to the router and records what
/// the callback delivers. It can be told to revert or to burn all the gas it is given, to show that
/// neither blocks settlement.
contract RecordingConsumer is AgentConsumer {
    enum Mode {
        Record,
        Revert,
        BurnGas
    }

    Mode public mode;
    uint256 public responses;
    uint256 public errors;
    uint256 public lastRequestId;
    uint16 public lastStatus;
    bytes public lastOutput;

    error ConsumerRefuses();

    constructor(IAgentRouter router) AgentConsumer(router) {}

    function setMode(Mode newMode) external {
        mode = newMode;
    }

    function request(
        uint64 accountId,
        uint256 agentId,
        bytes calldata input,
        uint32 keyEpoch,
        uint32 callbackGasLimit,
        uint96 maxFee
    ) external returns (uint256) {
        if (keyEpoch == 0) return _requestAgent(accountId, agentId, input, callbackGasLimit, maxFee);
        return _requestAgentConfidential(accountId, agentId, input, keyEpoch, callbackGasLimit, maxFee);
    }

    function _onAgentResponse(uint256 requestId, bytes calldata output) internal override {
        _react();
        ++responses;
        _store(requestId, 0, output);
    }

    function _onAgentError(uint256 requestId, uint16 status, bytes calldata message) internal override {
        _react();
        ++errors;
        _store(requestId, status, message);
    }

    function _react() private view {
        if (mode == Mode.Revert) revert ConsumerRefuses();
        if (mode == Mode.BurnGas) {
            // Spin until the call runs out of gas.
            uint256 counter;
            while (gasleft() > 0) {
                counter = uint256(keccak256(abi.encode(counter)));
            }
        }
    }

    function _store(uint256 requestId, uint16 status, bytes calldata output) private {
        lastRequestId = requestId;
        lastStatus = status;
        lastOutput = output;
    }
}

/// @notice Key registry double: epochs are usable when the test says so.
contract MockKeyRegistry is IKeyRegistry {
    mapping(uint32 epoch => bool) public isEpochUsable;

    function setUsable(uint32 epoch, bool usable) external {
        isEpochUsable[epoch] = usable;
    }
}
