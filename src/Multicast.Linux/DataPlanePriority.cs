using System.Globalization;

namespace Multicast.Linux;

/// <summary>
/// The data-plane thread's nice values (`--nice BASE:BOOST`, or `--nice N` for one fixed value): BASE while it keeps up,
/// BOOST while a backlog drains. A thread that always runs at the boosted weight wins every contest for the CPU it
/// shares with the application and the member-side receivers, which costs their latency and its own CPU (a yielding
/// thread at nice −10 gets its CPU straight back); one that never does loses the CPU while a queue builds, and a full
/// queue drops datagrams. Measured in README Performance.
/// </summary>
public readonly record struct DataPlanePriority(int Base, int Boost)
{
    /// <summary>A walk of the RX ring that finds this many frames means the thread has fallen behind.</summary>
    public const int BacklogFrames = 8;

    public const int MinNice = -20;
    public const int MaxNice = 19;

    /// <summary>The ring engine's default: nice 0, −10 while a backlog drains.</summary>
    public static DataPlanePriority Default => new(0, ThreadScheduling.DataPlaneNice);

    public static DataPlanePriority Fixed(int nice) => new(nice, nice);

    /// <summary>Whether the thread changes its nice value with the backlog at all.</summary>
    public bool Switches => Base != Boost;

    /// <summary>"N" (fixed) or "BASE:BOOST" with BOOST at or below BASE (a boost raises the priority).</summary>
    public static DataPlanePriority Parse(string text)
    {
        string[] parts = text.Split(':');
        if (parts.Length > 2 || !TryNice(parts[0], out int first))
            throw new ArgumentException($"'{text}' is not a nice value in [{MinNice}, {MaxNice}] or BASE:BOOST");
        if (parts.Length == 1) return Fixed(first);
        if (!TryNice(parts[1], out int boost))
            throw new ArgumentException($"'{text}': the boost '{parts[1]}' is not a nice value in [{MinNice}, {MaxNice}]");
        if (boost > first)
            throw new ArgumentException($"'{text}': the boost ({boost}) must be a nice value at or below the base ({first})");
        return new DataPlanePriority(first, boost);
    }

    private static bool TryNice(string s, out int nice) =>
        int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out nice) && nice is >= MinNice and <= MaxNice;

    /// <summary>How the engines' start-up log names it: "0, -10 while a backlog drains", "-10", or "as started".</summary>
    public static string Describe(DataPlanePriority? priority) => priority switch
    {
        { Switches: true } p => string.Create(CultureInfo.InvariantCulture, $"{p.Base}, {p.Boost} while a backlog drains"),
        { } p => p.Base.ToString(CultureInfo.InvariantCulture),
        null => "as started",
    };

    public override string ToString() => Switches
        ? string.Create(CultureInfo.InvariantCulture, $"{Base}:{Boost}")
        : Base.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The boost decision of one receive loop: raise the priority when a walk finds a backlog, drop back when the loop is
/// about to park (the ring is empty and the idle strategy gave up waiting). Parking is the hysteresis: a thread that
/// keeps finding frames keeps its boost until the burst is over, and one switch costs a setpriority call, so the
/// decision never flaps per datagram. Returns the nice value to apply, or null for no change.
/// </summary>
/// <param name="priority">Null: the loop leaves the thread's priority as its caller set it (never switches).</param>
public struct BacklogBoost(DataPlanePriority? priority)
{
    private readonly DataPlanePriority _priority = priority ?? default;
    private bool _boosted;

    /// <summary>Times the priority was raised; written by the loop's thread only.</summary>
    public long Boosts;

    public readonly bool Boosted => _boosted;

    /// <summary>Whether this loop switches at all; if so it starts at <see cref="Base"/>.</summary>
    public readonly bool Switches => _priority.Switches;

    public readonly int Base => _priority.Base;

    public int? OnWalk(int frames)
    {
        if (_boosted || !_priority.Switches || frames < DataPlanePriority.BacklogFrames) return null;
        _boosted = true;
        Boosts++;
        return _priority.Boost;
    }

    public int? OnPark()
    {
        if (!_boosted) return null;
        _boosted = false;
        return _priority.Base;
    }
}
