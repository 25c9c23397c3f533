// SPDX-License-Identifier: PostgreSQL
pragma solidity 0.8.30;

/// @title MegaMarket loyalty points
/// @notice The proposal's programme (10 points per unit of purchase, redemption
/// in steps of 100 points, a reward of 50 per 100 points) with what running it
/// for real needs: batched awards, a registration event, a two-step owner
/// transfer, a pause switch and checked inputs with plain revert reasons.
///
/// Design notes (the reviewer's questions, answered):
/// - Exactly-once awards are guaranteed off chain by the sender's nonce: the
///   dispatcher commits each signed transaction before sending it, and every
///   replacement of a stuck transaction reuses its nonce and its awards, so a
///   set of awards can be included at most once. An on-chain award-id registry
///   would cost a fresh 20,000-gas storage slot per award (about four times the
///   cost of the award itself) to guard against what the nonce already rules
///   out; it is deliberately left out. The signer key must be used by the
///   dispatcher only (docs/loyalty.md).
/// - A customer's registration flag and balance share one storage slot, so an
///   award to a registered customer touches a single slot.
/// - pause() stops awards, registrations and redemptions during an incident
///   (a dispatcher bug, a contract migration); reads keep working.
/// - Ownership moves in two steps (transferOwnership, then acceptOwnership by
///   the new owner), so a mistyped address cannot lock the contract.
/// - The contract holds no ether: it has no payable function, receive or
///   fallback, so any transfer of value to it reverts.
contract MegaMarketLoyalty {
    uint256 public constant POINTS_PER_UNIT = 10;
    uint256 public constant REDEMPTION_THRESHOLD = 100;
    uint256 public constant REWARD_PER_THRESHOLD = 50;
    /// Largest purchase (in whole currency units) one award may carry.
    uint256 public constant MAX_PURCHASE_UNITS = 1e12;
    /// Largest number of awards in one awardPointsBatch call (gas bound).
    uint256 public constant MAX_BATCH = 256;

    struct Account {
        uint128 points;
        bool registered;
    }

    address public owner;
    address public pendingOwner;
    bool public paused;
    mapping(address => Account) private accounts;

    event CustomerRegistered(address indexed customer);
    event PointsAwarded(address indexed customer, uint256 points);
    event PointsRedeemed(address indexed customer, uint256 points, uint256 reward);
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event Paused(address indexed by);
    event Unpaused(address indexed by);

    modifier onlyOwner() {
        require(msg.sender == owner, "caller is not the owner");
        _;
    }

    modifier whenNotPaused() {
        require(!paused, "contract is paused");
        _;
    }

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// Register a customer's address; only the owner, once per address.
    function registerCustomer(address customer) external onlyOwner whenNotPaused {
        require(customer != address(0), "customer is the zero address");
        Account storage a = accounts[customer];
        require(!a.registered, "customer already registered");
        a.registered = true;
        emit CustomerRegistered(customer);
    }

    /// Award POINTS_PER_UNIT points per whole unit of purchase.
    function awardPoints(address customer, uint256 purchaseAmount) external onlyOwner whenNotPaused {
        _award(customer, purchaseAmount);
    }

    /// Many awards in one transaction, one PointsAwarded event each. Any bad
    /// award reverts the whole batch (the dispatcher then retries its awards
    /// one by one, to pin the reason on the award that caused it).
    function awardPointsBatch(address[] calldata customers, uint256[] calldata purchaseAmounts)
        external
        onlyOwner
        whenNotPaused
    {
        uint256 n = customers.length;
        require(n == purchaseAmounts.length, "array lengths differ");
        require(n > 0, "empty batch");
        require(n <= MAX_BATCH, "batch too large");
        for (uint256 i = 0; i < n; i++) {
            _award(customers[i], purchaseAmounts[i]);
        }
    }

    /// A registered customer redeems a multiple of REDEMPTION_THRESHOLD points
    /// for REWARD_PER_THRESHOLD per threshold.
    function redeemPoints(uint256 points) external whenNotPaused {
        Account storage a = accounts[msg.sender];
        require(a.registered, "customer not registered");
        require(points >= REDEMPTION_THRESHOLD, "points below redemption threshold");
        require(points % REDEMPTION_THRESHOLD == 0, "points must be a multiple of the threshold");
        require(a.points >= points, "insufficient points");
        a.points -= uint128(points);
        uint256 reward = (points / REDEMPTION_THRESHOLD) * REWARD_PER_THRESHOLD;
        emit PointsRedeemed(msg.sender, points, reward);
    }

    function getPointsBalance(address customer) external view returns (uint256) {
        return accounts[customer].points;
    }

    function isRegistered(address customer) external view returns (bool) {
        return accounts[customer].registered;
    }

    /// Start handing the contract to newOwner (address(0) cancels a pending
    /// transfer); the new owner completes it with acceptOwnership().
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    function acceptOwnership() external {
        require(msg.sender == pendingOwner, "caller is not the pending owner");
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }

    function pause() external onlyOwner {
        require(!paused, "contract is paused");
        paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyOwner {
        require(paused, "contract is not paused");
        paused = false;
        emit Unpaused(msg.sender);
    }

    function _award(address customer, uint256 purchaseAmount) private {
        Account storage a = accounts[customer];
        require(a.registered, "customer not registered");
        require(purchaseAmount > 0, "purchase amount is zero");
        require(purchaseAmount <= MAX_PURCHASE_UNITS, "purchase amount too large");
        uint256 points = purchaseAmount * POINTS_PER_UNIT;
        // points <= 1e13, so the narrowing is exact; the uint128 addition is
        // checked (it would revert, never wrap).
        a.points += uint128(points);
        emit PointsAwarded(customer, points);
    }
}
