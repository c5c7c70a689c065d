using System.Text.Json;
using System.Text.Json.Nodes;
using Multicast.Core.Packets;

namespace Multicast.Core.Config;

/// <summary>One group of server_cfg.json.txt: where the application sends and who gets a copy.</summary>
/// <param name="GroupIp">Host-order IPv4 the application sends to (multicast or broadcast).</param>
/// <param name="GroupPort">The application's port as configured (informational on the server; 0 = not given).</param>
/// <param name="ServerPort">UDP destination port on the unicast hop; 0 = leave the application's port unchanged.</param>
/// <param name="Members">Host-order member addresses, de-duplicated, in configured order.</param>
public sealed record GroupConfig(uint GroupIp, ushort GroupPort, ushort ServerPort, uint[] Members);

/// <summary>The server's configuration file (schema of the seed manual: {"multi_group_array":[...]}).</summary>
public sealed class ServerConfig
{
    public const string FileName = "server_cfg.json.txt";
    public const string ArrayKey = "multi_group_array";

    public const int DefaultMaxGroups = 1024;
    public const int DefaultMaxMembers = 4096;

    public IReadOnlyList<GroupConfig> Groups { get; }
    /// <summary>Most groups this server accepts (config key max_groups).</summary>
    public int MaxGroups { get; }
    /// <summary>Most members one group accepts (config key max_members_per_group).</summary>
    public int MaxMembers { get; }

    public ServerConfig(IReadOnlyList<GroupConfig> groups, int maxGroups = DefaultMaxGroups, int maxMembers = DefaultMaxMembers)
    {
        Groups = groups;
        MaxGroups = maxGroups;
        MaxMembers = maxMembers;
        Validate();
    }

    public ServerConfig With(IReadOnlyList<GroupConfig> groups) => new(groups, MaxGroups, MaxMembers);

    public static ServerConfig Empty { get; } = new(Array.Empty<GroupConfig>());

    /// <summary>Loads and validates a file; every failure is a <see cref="ConfigException"/> naming the file.</summary>
    public static ServerConfig Load(string path) => ConfigFile.Load(path, Parse);

    public static ServerConfig Parse(JsonNode root, string source)
    {
        var groups = new List<GroupConfig>();
        JsonArray array = ConfigFile.RequiredArray(root, ArrayKey, source);
        int index = 0;
        foreach (JsonNode? node in array)
        {
            string where = $"{source}: {ArrayKey}[{index++}]";
            if (node is not JsonObject obj) throw new ConfigException($"{where}: expected an object");
            uint group = ConfigFile.RequiredAddress(obj, "group_ip", where);
            ushort groupPort = ConfigFile.OptionalPort(obj, "group_port", where);
            ushort serverPort = ConfigFile.OptionalPort(obj, "server_port", where);
            var members = new List<uint>();
            if (obj["member_array"] is JsonNode ma)
            {
                if (ma is not JsonArray memberArray) throw new ConfigException($"{where}: member_array must be an array");
                foreach (JsonNode? m in memberArray)
                {
                    uint member = ConfigFile.Address(m, $"{where}.member_array", "member");
                    if (!members.Contains(member)) members.Add(member);
                }
            }
            groups.Add(new GroupConfig(group, groupPort, serverPort, members.ToArray()));
        }
        var top = (JsonObject)root;
        return new ServerConfig(groups,
            ConfigFile.OptionalLimit(top, "max_groups", DefaultMaxGroups, source),
            ConfigFile.OptionalLimit(top, "max_members_per_group", DefaultMaxMembers, source));
    }

    private void Validate()
    {
        if (Groups.Count > MaxGroups)
            throw new ConfigException($"you can only add {MaxGroups} multicast groups (limit max_groups)");
        foreach (GroupConfig g in Groups)
            if (g.Members.Length > MaxMembers)
                throw new ConfigException($"you can only add {MaxMembers} members to multicast group {IpAddressV4.Format(g.GroupIp)} (limit max_members_per_group)");
        var seen = new HashSet<uint>();
        foreach (GroupConfig g in Groups)
        {
            string gs = IpAddressV4.Format(g.GroupIp);
            if (!IsGroupAddress(g.GroupIp))
                throw new ConfigException($"group {gs} is neither multicast (224.0.0.0/4) nor a broadcast address");
            if (!seen.Add(g.GroupIp)) throw new ConfigException($"group {gs} is configured twice");
        }
        foreach (GroupConfig g in Groups)
            foreach (uint m in g.Members)
            {
                string ms = IpAddressV4.Format(m);
                if (IpAddressV4.IsMulticast(m)) throw new ConfigException($"member {ms} of group {IpAddressV4.Format(g.GroupIp)} is a multicast address");
                if (m == LimitedBroadcast) throw new ConfigException($"member {ms} of group {IpAddressV4.Format(g.GroupIp)} is a broadcast address");
                if (m == 0) throw new ConfigException($"member 0.0.0.0 of group {IpAddressV4.Format(g.GroupIp)} is not a host address");
                // A member that is itself a group would make the proxy replicate its own copies (the original's loop).
                if (seen.Contains(m)) throw new ConfigException($"member {ms} of group {IpAddressV4.Format(g.GroupIp)} is one of this server's groups");
            }
    }

    public static bool IsGroupAddress(uint address) => IpAddressV4.IsMulticast(address) || IsBroadcastLike(address);

    /// <summary>The limited broadcast, or a subnet-directed one as users configure them (last octet 255).</summary>
    /// <remarks>
    /// For groups only. A host address may end in .255 too (10.0.1.255 in a /16 VPC subnet), and which it is depends
    /// on a subnet the config does not know, so members and servers are refused only as <see cref="LimitedBroadcast"/>.
    /// </remarks>
    public static bool IsBroadcastLike(uint address) => (address & 0xFF) == 0xFF;

    /// <summary>255.255.255.255: never a host.</summary>
    public const uint LimitedBroadcast = 0xFFFFFFFF;

    public JsonObject ToJson()
    {
        var array = new JsonArray();
        foreach (GroupConfig g in Groups)
        {
            var members = new JsonArray();
            foreach (uint m in g.Members) members.Add(IpAddressV4.Format(m));
            array.Add(new JsonObject
            {
                ["group_ip"] = IpAddressV4.Format(g.GroupIp),
                ["group_port"] = g.GroupPort,
                ["server_port"] = g.ServerPort,
                ["member_array"] = members,
            });
        }
        var root = new JsonObject { [ArrayKey] = array };
        if (MaxGroups != DefaultMaxGroups) root["max_groups"] = MaxGroups;
        if (MaxMembers != DefaultMaxMembers) root["max_members_per_group"] = MaxMembers;
        return root;
    }

    public void Save(string path) => ConfigFile.SaveAtomically(path, ToJson());
}
