// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title NodeRegistry
/// @notice On-chain registry of storage-and-DA appliances ("boxes"). A box is registered by its
/// operator (the sender), who alone may update or deregister it afterwards.
contract NodeRegistry {
    /// @dev Length of a compressed BLS12-381 G1 public key.
    uint256 internal constant BLS_PUBLIC_KEY_LENGTH = 48;
    /// @dev Length of an ed25519 public key.
    uint256 internal constant ED25519_PUBLIC_KEY_LENGTH = 32;
    /// @dev Longest endpoint kept on chain (a URL or host:port); bounds storage per box.
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @dev Longest zone label kept on chain; bounds storage per box.
    uint256 public constant MAX_ZONE_LENGTH = 64;

    /// @notice What the chain knows about one box.
    struct Node {
        address operator;
        bytes publicKey;
        string endpoint;
        uint256 capacity;
        string zone;
        uint64 registeredAt;
        uint64 updatedAt;
    }

    mapping(bytes32 => Node) private nodes;

    /// @notice Number of boxes registered now.
    uint256 public nodeCount;

    /// @notice A box was registered.
    event NodeRegistered(
        bytes32 indexed nodeId,
        address indexed operator,
        bytes publicKey,
        string endpoint,
        uint256 capacity,
        string zone
    );
    /// @notice A box's key, endpoint, capacity or zone changed.
    event NodeUpdated(
        bytes32 indexed nodeId,
        address indexed operator,
        bytes publicKey,
        string endpoint,
        uint256 capacity,
        string zone
    );
    /// @notice A box was removed from the registry.
    event NodeDeregistered(bytes32 indexed nodeId, address indexed operator);

    /// @notice The node id is already registered (by `operator`).
    error NodeAlreadyRegistered(bytes32 nodeId, address operator);
    /// @notice No box is registered under the node id.
    error NodeNotRegistered(bytes32 nodeId);
    /// @notice Only the box's operator may change it.
    error NotNodeOperator(bytes32 nodeId, address operator, address caller);
    /// @notice The node id must not be zero.
    error ZeroNodeId();
    /// @notice A public key is 48 bytes (BLS12-381) or 32 bytes (ed25519).
    error InvalidPublicKeyLength(uint256 length);
    /// @notice The endpoint is empty or longer than MAX_ENDPOINT_LENGTH.
    error InvalidEndpointLength(uint256 length);
    /// @notice The zone is longer than MAX_ZONE_LENGTH.
    error InvalidZoneLength(uint256 length);

    /// @notice Registers a box; the sender becomes its operator.
    function register(
        bytes32 nodeId,
        bytes calldata publicKey,
        string calldata endpoint,
        uint256 capacity,
        string calldata zone
    ) external {
        if (nodeId == bytes32(0)) revert ZeroNodeId();
        address existing = nodes[nodeId].operator;
        if (existing != address(0)) revert NodeAlreadyRegistered(nodeId, existing);
        checkFields(publicKey, endpoint, zone);

        Node storage node = nodes[nodeId];
        node.operator = msg.sender;
        node.publicKey = publicKey;
        node.endpoint = endpoint;
        node.capacity = capacity;
        node.zone = zone;
        node.registeredAt = uint64(block.timestamp);
        node.updatedAt = uint64(block.timestamp);
        nodeCount += 1;
        emit NodeRegistered(nodeId, msg.sender, publicKey, endpoint, capacity, zone);
    }

    /// @notice Replaces a box's key, endpoint, capacity and zone; only its operator may.
    function update(
        bytes32 nodeId,
        bytes calldata publicKey,
        string calldata endpoint,
        uint256 capacity,
        string calldata zone
    ) external {
        Node storage node = operatedBySender(nodeId);
        checkFields(publicKey, endpoint, zone);

        node.publicKey = publicKey;
        node.endpoint = endpoint;
        node.capacity = capacity;
        node.zone = zone;
        node.updatedAt = uint64(block.timestamp);
        emit NodeUpdated(nodeId, msg.sender, publicKey, endpoint, capacity, zone);
    }

    /// @notice Removes a box; only its operator may.
    function deregister(bytes32 nodeId) external {
        operatedBySender(nodeId);
        delete nodes[nodeId];
        nodeCount -= 1;
        emit NodeDeregistered(nodeId, msg.sender);
    }

    /// @notice The box registered under `nodeId`; reverts with NodeNotRegistered when none is.
    function getNode(bytes32 nodeId) external view returns (Node memory) {
        Node memory node = nodes[nodeId];
        if (node.operator == address(0)) revert NodeNotRegistered(nodeId);
        return node;
    }

    /// @notice Whether a box is registered under `nodeId`.
    function isRegistered(bytes32 nodeId) external view returns (bool) {
        return nodes[nodeId].operator != address(0);
    }

    function operatedBySender(bytes32 nodeId) private view returns (Node storage node) {
        node = nodes[nodeId];
        if (node.operator == address(0)) revert NodeNotRegistered(nodeId);
        if (node.operator != msg.sender) revert NotNodeOperator(nodeId, node.operator, msg.sender);
    }

    function checkFields(bytes calldata publicKey, string calldata endpoint, string calldata zone) private pure {
        if (publicKey.length != BLS_PUBLIC_KEY_LENGTH && publicKey.length != ED25519_PUBLIC_KEY_LENGTH) {
            revert InvalidPublicKeyLength(publicKey.length);
        }
        uint256 endpointLength = bytes(endpoint).length;
        if (endpointLength == 0 || endpointLength > MAX_ENDPOINT_LENGTH) revert InvalidEndpointLength(endpointLength);
        uint256 zoneLength = bytes(zone).length;
        if (zoneLength > MAX_ZONE_LENGTH) revert InvalidZoneLength(zoneLength);
    }
}
