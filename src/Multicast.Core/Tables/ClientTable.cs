using System.Collections.Frozen;
using Multicast.Core.Config;

namespace Multicast.Core.Tables;

/// <summary>One accepted (server, port) and what it restores to.</summary>
public sealed class ClientRoute
{
    public uint ServerIp { get; }
    public ushort ServerPort { get; }
    public uint GroupIp { get; }
    public ushort GroupPort { get; }
    public long Packets;
    public long Bytes;

    internal ClientRoute(ClientRouteConfig c, ClientRoute? previous)
    {
        ServerIp = c.ServerIp;
        ServerPort = c.ServerPort;
        GroupIp = c.GroupIp;
        GroupPort = c.GroupPort;
        if (previous is { GroupIp: var g } && g == c.GroupIp)
        {
            Packets = Volatile.Read(ref previous.Packets);
            Bytes = Volatile.Read(ref previous.Bytes);
        }
    }
}

/// <summary>(server IP, destination port) → route, with (server IP, 0) as the any-port wildcard. Immutable.</summary>
public sealed class ClientTable
{
    private readonly FrozenDictionary<ulong, ClientRoute> _routes;
    // Non-first fragments carry no port: when a server has a single route, that route is the answer.
    private readonly FrozenDictionary<uint, ClientRoute?> _soleRouteByServer;

    public static ClientTable Empty { get; } = new(ClientConfig.Empty, null);

    public ClientTable(ClientConfig config, ClientTable? previous)
    {
        var routes = new Dictionary<ulong, ClientRoute>();
        var sole = new Dictionary<uint, ClientRoute?>();
        foreach (ClientRouteConfig c in config.Routes)
        {
            ulong key = Key(c.ServerIp, c.ServerPort);
            ClientRoute? old = null;
            previous?._routes.TryGetValue(key, out old);
            var route = new ClientRoute(c, old);
            routes[key] = route;
            sole[c.ServerIp] = sole.ContainsKey(c.ServerIp) ? null : route;
        }
        _routes = routes.ToFrozenDictionary();
        _soleRouteByServer = sole.ToFrozenDictionary();
        Config = config;
    }

    public ClientConfig Config { get; }
    public IEnumerable<ClientRoute> Routes => _routes.Values;
    public IEnumerable<uint> Servers => _soleRouteByServer.Keys;

    public bool HasServer(uint serverIp) => _soleRouteByServer.ContainsKey(serverIp);

    /// <summary>Exact (server, port), else the server's any-port entry, else null.</summary>
    public ClientRoute? Lookup(uint serverIp, ushort port) =>
        _routes.TryGetValue(Key(serverIp, port), out ClientRoute? r) ? r :
        _routes.TryGetValue(Key(serverIp, 0), out r) ? r : null;

    public ClientRoute? SoleRoute(uint serverIp) =>
        _soleRouteByServer.TryGetValue(serverIp, out ClientRoute? r) ? r : null;

    private static ulong Key(uint ip, ushort port) => (ulong)ip << 16 | port;
}
