// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";
import {RouterFixture} from "./RouterFixture.sol";
import {RecordingConsumer} from "./TestDoubles.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {BillingAccounts} from "../../contracts/core/BillingAccounts.sol";
import {MockWorkerStaking} from "../../contracts/mocks/MockWorkerStaking.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice Random actors funding accounts, requesting, fulfilling (validly and not, by the primary
/// or a backup), timing out, withdrawing and collecting fees. Tracks pending requests and every address that can earn.
contract RouterHandler is Test {
    uint256 internal constant MAX_FUND = 100 ether;
    uint256 internal constant MAX_EXTRA_FEE = 5 ether;
    uint32 internal constant MAX_TEST_CALLBACK_GAS = 300_000;
    uint256 internal constant MAX_LATENESS = 120;

    AgentRouter public immutable router;
    PhalaToken public immutable token;
    MockWorkerStaking public immutable staking;
    RecordingConsumer public immutable consumer;

    address[] public actors;
    uint64[] public accounts;
    uint256[] public agentIds;
    address[] public earners;
    address[] public workers;
    mapping(address worker => uint256 key) internal _workerKeys;
    IAgentRouter.AgentRequest[] internal _pending;

    uint256 public fulfilled;
    uint256 public backupAnswers;
    uint256 public timedOut;
    uint256 public badRejected;
    bool public badAccepted;

    constructor(
        AgentRouter router_,
        PhalaToken token_,
        MockWorkerStaking staking_,
        RecordingConsumer consumer_,
        address[] memory actors_,
        uint64[] memory accounts_,
        uint256[] memory agentIds_,
        address[] memory agentOwners,
        address[] memory workers_,
        uint256[] memory workerKeys
    ) {
        router = router_;
        token = token_;
        staking = staking_;
        consumer = consumer_;
        actors = actors_;
        accounts = accounts_;
        agentIds = agentIds_;
        workers = workers_;
        for (uint256 i; i < workers_.length; ++i) {
            _workerKeys[workers_[i]] = workerKeys[i];
        }
        earners = actors_;
        for (uint256 i; i < agentOwners.length; ++i) {
            earners.push(agentOwners[i]);
        }
    }

    // ---------------------------------------------------------------- actions

    function fund(uint256 accountSeed, uint256 amount, bool transferAndCall) external {
        uint64 id = accounts[accountSeed % accounts.length];
        amount = bound(amount, 1, MAX_FUND);
        if (transferAndCall) {
            token.transferAndCall(address(router), amount, abi.encode(id));
        } else {
            token.approve(address(router), amount);
            router.fund(id, amount);
        }
    }

    function request(uint256 actorSeed, uint256 agentSeed, uint32 callbackGas, uint256 extra, bool viaContract)
        external
    {
        uint256 index = actorSeed % actors.length;
        uint64 id = accounts[index];
        uint256 agentId = agentIds[agentSeed % agentIds.length];
        callbackGas = uint32(bound(callbackGas, 0, MAX_TEST_CALLBACK_GAS));
        uint256 maxFee = router.estimateFee(agentId, callbackGas) + bound(extra, 0, MAX_EXTRA_FEE);
        BillingAccounts.Account memory account = router.accountOf(id);
        if (account.balance - account.reserved < maxFee) return;

        vm.recordLogs();
        if (viaContract) {
            consumer.request(id, agentId, abi.encode(actorSeed), 0, callbackGas, uint96(maxFee));
        } else {
            vm.prank(actors[index]);
            router.request(id, agentId, abi.encode(actorSeed), 0, callbackGas, uint96(maxFee));
        }
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(router) && logs[i].topics[0] == IAgentRouter.AgentRequested.selector) {
                (IAgentRouter.AgentRequest memory req,) = abi.decode(logs[i].data, (IAgentRouter.AgentRequest, bytes));
                _pending.push(req);
            }
        }
    }

    function fulfill(uint256 indexSeed, uint256 relayerSeed, uint16 status, uint256 subSeed) external {
        if (_pending.length == 0) return;
        uint256 index = indexSeed % _pending.length;
        IAgentRouter.AgentRequest memory req = _pending[index];
        if (block.timestamp > req.deadline) return;
        status = uint16(bound(status, 0, 13));
        uint256[] memory subAgentIds = new uint256[](subSeed % 3);
        for (uint256 i; i < subAgentIds.length; ++i) {
            // Includes one id past the registered agents: unknown sub-agents are skipped.
            subAgentIds[i] = (subSeed >> (8 * i)) % (agentIds.length + 1) + 1;
        }
        IAgentRouter.Fulfillment memory f = _signed(req, abi.encode("answer", indexSeed), status, subAgentIds);
        consumer.setMode(RecordingConsumer.Mode(subSeed % 3));
        vm.prank(actors[relayerSeed % actors.length]);
        router.fulfill(f);
        _removePending(index);
        ++fulfilled;
    }

    /// @dev Backup `rank` answers once its window opens (time moves there if needed).
    function fulfillAsBackup(uint256 indexSeed, uint256 rankSeed, uint256 relayerSeed) external {
        if (_pending.length == 0) return;
        uint256 index = indexSeed % _pending.length;
        IAgentRouter.AgentRequest memory req = _pending[index];
        if (block.timestamp > req.deadline) return;
        uint256 rank = rankSeed % router.MAX_BACKUPS() + 1;
        (address backup, uint64 opensAt) = router.backupWorker(req, rank);
        if (block.timestamp < opensAt) vm.warp(opensAt);
        bytes memory output = abi.encode("backup answer", indexSeed);
        uint256[] memory none = new uint256[](0);
        IAgentRouter.Fulfillment memory f = IAgentRouter.Fulfillment({
            request: req,
            status: 0,
            output: output,
            subAgentIds: none,
            subAgentPrices: new uint96[](0),
            signature: _signature(_workerKeys[backup], req, output, 0, none, backup)
        });
        vm.prank(actors[relayerSeed % actors.length]);
        router.fulfillAsBackup(f, rank);
        _removePending(index);
        ++fulfilled;
        ++backupAnswers;
    }

    function fulfillBatch(uint256 indexSeed, uint256 relayerSeed) external {
        if (_pending.length < 2) return;
        uint256 first = indexSeed % _pending.length;
        uint256 second = (first + 1) % _pending.length;
        IAgentRouter.AgentRequest memory a = _pending[first];
        IAgentRouter.AgentRequest memory b = _pending[second];
        if (block.timestamp > a.deadline || block.timestamp > b.deadline) return;
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](2);
        batch[0] = _signed(a, "batched a", 0, new uint256[](0));
        batch[1] = _signed(b, "batched b", 1, new uint256[](0));
        consumer.setMode(RecordingConsumer.Mode.Record);
        vm.prank(actors[relayerSeed % actors.length]);
        router.fulfillBatch(batch);
        // Remove the higher index first so the other stays valid.
        _removePending(first > second ? first : second);
        _removePending(first > second ? second : first);
        fulfilled += 2;
    }

    function fulfillBadly(uint256 indexSeed, uint256 mode) external {
        if (_pending.length == 0) return;
        IAgentRouter.AgentRequest memory req = _pending[indexSeed % _pending.length];
        IAgentRouter.Fulfillment memory f = _signed(req, "honest", 0, new uint256[](0));
        mode %= 4;
        if (mode == 0) f.output = "tampered";
        else if (mode == 1) f.signature = _signature(0xBAD, req, "honest", 0, f.subAgentIds, req.worker);
        else if (mode == 2) f.request.maxFee += 1;
        else f.status = 1;
        try router.fulfill(f) {
            badAccepted = true;
        } catch {
            ++badRejected;
        }
    }

    function timeout(uint256 indexSeed, uint256 lateness, uint256 callerSeed) external {
        if (_pending.length == 0) return;
        uint256 index = indexSeed % _pending.length;
        IAgentRouter.AgentRequest memory req = _pending[index];
        uint256 due = uint256(req.deadline) + 1 + bound(lateness, 0, MAX_LATENESS);
        if (block.timestamp < due) vm.warp(due);
        vm.prank(actors[callerSeed % actors.length]);
        router.timeout(req);
        _removePending(index);
        ++timedOut;
    }

    function withdraw(uint256 actorSeed, uint256 amount) external {
        uint256 index = actorSeed % actors.length;
        BillingAccounts.Account memory account = router.accountOf(accounts[index]);
        uint256 available = account.balance - account.reserved;
        if (available == 0) return;
        vm.prank(actors[index]);
        router.withdraw(accounts[index], actors[index], bound(amount, 1, available));
    }

    function withdrawEarnings(uint256 earnerSeed) external {
        address earner = earners[earnerSeed % earners.length];
        if (router.earnings(earner) == 0) return;
        vm.prank(earner);
        router.withdrawEarnings(earner);
    }

    function withdrawProtocolFees() external {
        if (router.protocolFees() == 0) return;
        router.withdrawProtocolFees();
    }

    function collectWorkerFees(uint256 workerSeed) external {
        staking.collect(router, workers[workerSeed % workers.length]);
    }

    // ---------------------------------------------------------------- views for the invariants

    function pendingCount() external view returns (uint256) {
        return _pending.length;
    }

    function sumPendingMaxFee() external view returns (uint256 sum) {
        for (uint256 i; i < _pending.length; ++i) {
            sum += _pending[i].maxFee;
        }
    }

    function sumEarnings() external view returns (uint256 sum) {
        for (uint256 i; i < earners.length; ++i) {
            sum += router.earnings(earners[i]);
        }
    }

    function sumPendingOfWorkers() external view returns (uint256 sum) {
        for (uint256 i; i < workers.length; ++i) {
            sum += router.pendingOf(workers[i]);
        }
    }

    function sumWorkerFees() external view returns (uint256 sum) {
        for (uint256 i; i < workers.length; ++i) {
            sum += router.workerFees(workers[i]);
        }
    }

    function accountCount() external view returns (uint256) {
        return accounts.length;
    }

    // ---------------------------------------------------------------- internals

    function _signed(IAgentRouter.AgentRequest memory req, bytes memory output, uint16 status, uint256[] memory subs)
        internal
        view
        returns (IAgentRouter.Fulfillment memory)
    {
        return IAgentRouter.Fulfillment({
            request: req,
            status: status,
            output: output,
            subAgentIds: subs,
            subAgentPrices: _prices(subs),
            signature: _signature(_workerKeys[req.worker], req, output, status, subs, req.worker)
        });
    }

    function _signature(
        uint256 key,
        IAgentRouter.AgentRequest memory req,
        bytes memory output,
        uint16 status,
        uint256[] memory subs,
        address worker
    ) internal view returns (bytes memory) {
        bytes32 digest = router.fulfillmentDigest(
            req.id, keccak256(abi.encode(req)), keccak256(output), status, subs, _prices(subs), worker
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev Sub-calls signed at their callees' current prices, as an honest worker does.
    function _prices(uint256[] memory subs) internal view returns (uint96[] memory prices) {
        prices = new uint96[](subs.length);
        for (uint256 i; i < subs.length; ++i) {
            (, prices[i]) = router.agentRegistry().ownerAndPrice(subs[i]);
        }
    }

    function _removePending(uint256 index) internal {
        _pending[index] = _pending[_pending.length - 1];
        _pending.pop();
    }
}

/// @notice The router holds exactly what it owes: account balances (reservations included),
/// earnings, worker fees and protocol fees — no stuck and no created PHA.
contract RouterInvariantTest is RouterFixture {
    uint256 internal constant ACTOR_COUNT = 3;
    uint256 internal constant HANDLER_FUNDS = 10_000_000 ether;
    address internal constant SUB_AGENT_OWNER = address(0x5B0);

    RouterHandler internal handler;

    function setUp() public override {
        super.setUp();
        // Workers of distinct operators, so that each can back the others up.
        staking.clearWorkers();
        address[] memory pool = new address[](WORKER_COUNT);
        uint256[] memory keys = new uint256[](WORKER_COUNT);
        for (uint256 i; i < WORKER_COUNT; ++i) {
            keys[i] = FIRST_WORKER_KEY + 100 + i;
            pool[i] = _registerWorker(keys[i], address(uint160(0x0E00 + i)), MEASUREMENT);
            staking.addWorker(pool[i]);
        }
        uint256 sub = _registerAgent(SUB_AGENT_OWNER, 1 ether, new bytes32[](0));

        address[] memory actors = new address[](ACTOR_COUNT + 1);
        uint64[] memory accountIds = new uint64[](ACTOR_COUNT + 1);
        actors[0] = payer;
        accountIds[0] = accountId;
        for (uint256 i = 1; i <= ACTOR_COUNT; ++i) {
            actors[i] = address(uint160(0xAC7000 + i));
            accountIds[i] = _openAccount(actors[i], address(consumer), 50 ether);
        }
        for (uint256 i; i < actors.length; ++i) {
            vm.prank(actors[i]);
            router.addConsumer(accountIds[i], actors[i]);
        }
        uint256[] memory agentIds = _ids(agentId, sub);
        address[] memory owners = new address[](2);
        owners[0] = agentOwner;
        owners[1] = SUB_AGENT_OWNER;
        handler = new RouterHandler(router, token, staking, consumer, actors, accountIds, agentIds, owners, pool, keys);
        token.transfer(address(handler), HANDLER_FUNDS);
        targetContract(address(handler));
    }

    function invariant_RouterHoldsExactlyWhatItOwes() public view {
        uint256 balances;
        for (uint64 id = 1; id <= router.accountCount(); ++id) {
            balances += router.accountOf(id).balance;
        }
        assertEq(
            token.balanceOf(address(router)),
            balances + handler.sumEarnings() + handler.sumWorkerFees() + router.protocolFees(),
            "router PHA = balances + earnings + worker fees + protocol fees"
        );
    }

    function invariant_ReservationsMatchPendingRequests() public view {
        uint256 reserved;
        uint256 pendingRequests;
        for (uint64 id = 1; id <= router.accountCount(); ++id) {
            BillingAccounts.Account memory account = router.accountOf(id);
            assertLe(account.reserved, account.balance, "reserved <= balance");
            reserved += account.reserved;
            pendingRequests += account.pendingRequests;
        }
        assertEq(reserved, handler.sumPendingMaxFee(), "reserved = sum of pending maxFee");
        assertEq(pendingRequests, handler.pendingCount(), "pending counts");
    }

    /// @dev Every pending request is counted on its primary and nowhere else: a backup's answer
    /// releases the primary's slot and takes none on the backup.
    function invariant_WorkerBooksCountPendingRequests() public view {
        assertEq(handler.sumPendingOfWorkers(), handler.pendingCount(), "pending slots = pending requests");
    }

    function invariant_BadFulfilmentsNeverAccepted() public view {
        assertFalse(handler.badAccepted(), "a tampered fulfilment settled");
    }

    function invariant_AllAccountsTracked() public view {
        assertEq(router.accountCount(), handler.accountCount(), "no untracked account");
    }
}
