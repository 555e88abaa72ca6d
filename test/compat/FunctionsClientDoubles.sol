// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {FunctionsClient} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/FunctionsClient.sol";
import {FunctionsRouterAdapter} from "../../contracts/compat/FunctionsRouterAdapter.sol";

/// @dev Chainlink Functions clients with hostile or measuring callbacks, built on Chainlink's own
/// FunctionsClient: what a client can do to the adapter from inside `fulfillRequest`.
abstract contract TestClient is FunctionsClient {
    constructor(address router) FunctionsClient(router) {}

    function send(bytes calldata data, uint64 subscriptionId, uint32 gasLimit, bytes32 donId) external returns (bytes32) {
        return _sendRequest(data, subscriptionId, gasLimit, donId);
    }
}

/// @dev Burns every unit of gas it is given, then fails.
contract GasBurningClient is TestClient {
    constructor(address router) TestClient(router) {}

    function fulfillRequest(bytes32, bytes memory, bytes memory) internal view override {
        // Not `for (;;)`: the compiler would call the code after this callback unreachable.
        while (gasleft() > 0) {}
    }
}

contract RevertingClient is TestClient {
    error NotToday();

    constructor(address router) TestClient(router) {}

    function fulfillRequest(bytes32, bytes memory, bytes memory) internal view override {
        if (gasleft() > 0) revert NotToday();
    }
}

/// @dev Returns ~100 KB of return data from its callback (a "return bomb").
contract ReturnBombClient is TestClient {
    constructor(address router) TestClient(router) {}

    function fulfillRequest(bytes32, bytes memory, bytes memory) internal view override {
        if (gasleft() > 0) {
            assembly {
                return(0, 100000)
            }
        }
    }
}

/// @dev Records the gas its callback starts with and what it received (hashed: storing kilobytes
/// would cost more gas than any callback has).
contract GasMeteringClient is TestClient {
    uint256 public gasAtCallback;
    bytes32 public responseHash;
    uint256 public responseLength;
    bytes32 public errorHash;
    uint256 public calls;

    constructor(address router) TestClient(router) {}

    function fulfillRequest(bytes32, bytes memory response, bytes memory err) internal override {
        gasAtCallback = gasleft();
        ++calls;
        responseHash = keccak256(response);
        responseLength = response.length;
        errorHash = keccak256(err);
    }
}

/// @dev A client that owns its own subscription and, from its callback, tries to close it and take
/// the balance out while its request is still being settled (so its fee would go unpaid).
contract SubscriptionOwnerClient is TestClient {
    FunctionsRouterAdapter internal immutable adapter;
    uint64 public subscriptionId;
    /// @notice The adapter's revert selector for the cancel attempt (0 if it succeeded).
    bytes4 public refusal;

    constructor(FunctionsRouterAdapter adapter_) TestClient(address(adapter_)) {
        adapter = adapter_;
    }

    function open() external returns (uint64) {
        subscriptionId = adapter.createSubscriptionWithConsumer(address(this));
        return subscriptionId;
    }

    function fulfillRequest(bytes32, bytes memory, bytes memory) internal override {
        try adapter.cancelSubscription(subscriptionId, address(this)) {
            refusal = bytes4(0);
        } catch (bytes memory reason) {
            refusal = bytes4(reason);
        }
    }
}
