using System.Text.Json.Nodes;
using Multicast.Core.Packets;

namespace Multicast.Core.Config;

/// <summary>One accepted source of copies on a member.</summary>
/// <param name="ServerIp">Host-order source address of the copies (the source host).</param>
/// <param name="ServerPort">UDP destination port of the copies on the unicast hop; 0 = any port.</param>
/// <param name="GroupIp">Group restored as destination.</param>
/// <param name="GroupPort">Port restored as destination; 0 = keep the port the copy arrived with.</param>
public sealed record ClientRouteConfig(uint ServerIp, ushort ServerPort, uint GroupIp, ushort GroupPort);

/// <summary>The client's configuration file ({"multi_server_info_array":[...]}, user-tool or kernel-variant keys).</summary>
public sealed class ClientConfig
{
    public const string FileName = "client_cfg.json.txt";
    public const string ArrayKey = "multi_server_info_array";

    public IReadOnlyList<ClientRouteConfig> Routes { get; }

    public ClientConfig(IReadOnlyList<ClientRouteConfig> routes)
    {
        Routes = routes;
        var seen = new HashSet<(uint, ushort)>();
        foreach (ClientRouteConfig r in routes)
        {
            if (!ServerConfig.IsGroupAddress(r.GroupIp))
                throw new ConfigException($"group {IpAddressV4.Format(r.GroupIp)} is neither multicast (224.0.0.0/4) nor a broadcast address");
            if (IpAddressV4.IsMulticast(r.ServerIp) || r.ServerIp == 0 || r.ServerIp == ServerConfig.LimitedBroadcast)
                throw new ConfigException($"server {IpAddressV4.Format(r.ServerIp)} is not a unicast host address");
            if (!seen.Add((r.ServerIp, r.ServerPort)))
                throw new ConfigException($"server {IpAddressV4.Format(r.ServerIp)} port {r.ServerPort} is configured twice");
        }
    }

    public static ClientConfig Empty { get; } = new(Array.Empty<ClientRouteConfig>());

    public static ClientConfig Load(string path) => ConfigFile.Load(path, Parse);

    public static ClientConfig Parse(JsonNode root, string source)
    {
        var routes = new List<ClientRouteConfig>();
        int index = 0;
        foreach (JsonNode? node in ConfigFile.RequiredArray(root, ArrayKey, source))
        {
            string where = $"{source}: {ArrayKey}[{index++}]";
            if (node is not JsonObject obj) throw new ConfigException($"{where}: expected an object");
            uint server = ConfigFile.RequiredAddress(obj, "server_ip", where);
            uint group = ConfigFile.RequiredAddress(obj, "group_ip", where);
            ushort serverPort, groupPort;
            if (obj.ContainsKey("client_port"))
            {
                // Kernel-variant entry: copies keep the application's port, so it is both key and restored port.
                serverPort = ConfigFile.OptionalPort(obj, "client_port", where);
                groupPort = 0;
            }
            else
            {
                serverPort = ConfigFile.OptionalPort(obj, "server_port", where);
                groupPort = ConfigFile.OptionalPort(obj, "group_port", where);
            }
            routes.Add(new ClientRouteConfig(server, serverPort, group, groupPort));
        }
        return new ClientConfig(routes);
    }

    public JsonObject ToJson()
    {
        var array = new JsonArray();
        foreach (ClientRouteConfig r in Routes)
            array.Add(new JsonObject
            {
                ["server_ip"] = IpAddressV4.Format(r.ServerIp),
                ["server_port"] = r.ServerPort,
                ["group_ip"] = IpAddressV4.Format(r.GroupIp),
                ["group_port"] = r.GroupPort,
            });
        return new JsonObject { [ArrayKey] = array };
    }

    public void Save(string path) => ConfigFile.SaveAtomically(path, ToJson());
}
