using System.Collections.Frozen;
using Multicast.Core.Config;

namespace Multicast.Core.Tables;

/// <summary>Counters of one group; written by the single data-plane thread, read by anyone.</summary>
public sealed class GroupCounters
{
    public long Packets;
    public long Bytes;
    public long CopiesSent;
    public long CopyBytes;
    public long CopiesDropped;
}

/// <summary>One group as the data plane sees it: an immutable member array plus per-member counters.</summary>
public sealed class FanoutGroup
{
    public uint GroupIp { get; }
    public ushort GroupPort { get; }
    /// <summary>UDP destination port of the copies; 0 = unchanged.</summary>
    public ushort ServerPort { get; }
    public uint[] Members { get; }
    public GroupCounters Counters { get; }
    /// <summary>Copies sent to Members[i].</summary>
    public long[] MemberCopies { get; }
    /// <summary>Copies to Members[i] that could not be queued (TX full, no route).</summary>
    public long[] MemberDrops { get; }

    internal FanoutGroup(GroupConfig config, FanoutGroup? previous)
    {
        GroupIp = config.GroupIp;
        GroupPort = config.GroupPort;
        ServerPort = config.ServerPort;
        Members = config.Members;
        Counters = previous?.Counters ?? new GroupCounters();
        MemberCopies = new long[Members.Length];
        MemberDrops = new long[Members.Length];
        if (previous is null) return;
        // Counters survive a reload for members that stay, so `-P` never goes backwards for them.
        for (int i = 0; i < Members.Length; i++)
        {
            int old = Array.IndexOf(previous.Members, Members[i]);
            if (old < 0) continue;
            MemberCopies[i] = Volatile.Read(ref previous.MemberCopies[old]);
            MemberDrops[i] = Volatile.Read(ref previous.MemberDrops[old]);
        }
    }
}

/// <summary>
/// Group address → members. Immutable: a config change builds a new table and publishes it with one reference
/// write, so the data plane never sees a half-updated group and never takes a lock.
/// </summary>
public sealed class FanoutTable
{
    private readonly FrozenDictionary<uint, FanoutGroup> _groups;

    public static FanoutTable Empty { get; } = new(ServerConfig.Empty, null);

    public FanoutTable(ServerConfig config, FanoutTable? previous)
    {
        var groups = new Dictionary<uint, FanoutGroup>();
        foreach (GroupConfig g in config.Groups)
        {
            FanoutGroup? old = null;
            previous?._groups.TryGetValue(g.GroupIp, out old);
            groups[g.GroupIp] = new FanoutGroup(g, old);
        }
        _groups = groups.ToFrozenDictionary();
        Config = config;
    }

    public ServerConfig Config { get; }
    public int Count => _groups.Count;
    public IEnumerable<FanoutGroup> Groups => _groups.Values;
    public IEnumerable<uint> GroupAddresses => _groups.Keys;

    public FanoutGroup? Lookup(uint groupIp) => _groups.TryGetValue(groupIp, out FanoutGroup? g) ? g : null;
}
