using System.Diagnostics;

namespace Multicast.Linux.Ring;

/// <summary>What the data-plane thread does when a walk of the RX ring finds nothing.</summary>
public enum IdleMode
{
    /// <summary>Park in poll() at once: no CPU while idle; each wake-up after a quiet spell pays the scheduler.</summary>
    Park,
    /// <summary>sched_yield() for the back-off window, then park: low latency while traffic flows, the core is shared.</summary>
    Yield,
    /// <summary>Busy-poll for the window, then yield for the window, then park: lowest latency, one core busy under traffic.</summary>
    Spin,
}

/// <summary>
/// The explicit spin → yield → park back-off. Cost: spin and yield keep the thread runnable (100 % of a core, though
/// yield lets any other runnable thread go first) for up to the window after the last frame, and park costs nothing.
/// Under steady traffic above ~1/window datagrams per second, spin and yield never park.
/// </summary>
public readonly record struct IdleStrategy(IdleMode Mode, int WindowMicros)
{
    public const int DefaultWindowMicros = 2000;

    public static IdleStrategy Park => new(IdleMode.Park, 0);

    public static IdleStrategy Parse(string text)
    {
        // "spin", "yield", "park", optionally with ":MICROS" for the back-off window.
        string[] parts = text.Split(':', 2);
        IdleMode mode = parts[0] switch
        {
            "spin" => IdleMode.Spin, "yield" => IdleMode.Yield, "park" => IdleMode.Park,
            _ => throw new ArgumentException($"unknown idle strategy '{text}' (expected spin, yield or park, optionally :MICROS)"),
        };
        int window = DefaultWindowMicros;
        if (parts.Length == 2 && (!int.TryParse(parts[1], out window) || window < 0 || window > 10_000_000))
            throw new ArgumentException($"idle window '{parts[1]}' is not a number of microseconds");
        return new IdleStrategy(mode, mode == IdleMode.Park ? 0 : window);
    }

    public override string ToString() => Mode == IdleMode.Park ? "park" : $"{Mode.ToString().ToLowerInvariant()}:{WindowMicros}";
}

/// <summary>Per-loop back-off state: call <see cref="Reset"/> after work, <see cref="ShouldPark"/> after an empty walk.</summary>
internal struct IdleBackoff(IdleStrategy strategy)
{
    private long _idleSince;

    public void Reset() => _idleSince = 0;

    /// <summary>Spins or yields once and returns false, or returns true when the caller should park in poll.</summary>
    public bool ShouldPark()
    {
        if (strategy.Mode == IdleMode.Park) return true;
        long now = Stopwatch.GetTimestamp();
        if (_idleSince == 0) _idleSince = now;
        long idleMicros = (now - _idleSince) * 1_000_000 / Stopwatch.Frequency;
        long window = strategy.WindowMicros;
        if (strategy.Mode == IdleMode.Spin && idleMicros < window) { Thread.SpinWait(10); return false; }
        long yieldEnd = strategy.Mode == IdleMode.Spin ? 2 * window : window;
        if (idleMicros < yieldEnd) { Thread.Yield(); return false; }
        return true;
    }
}
