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
    /// <summary>
    /// Stay awake only while datagrams arrive closer together than the window: sched_yield() for up to twice the
    /// recent average gap, then park; park at once when traffic is sparser. No wake-up per datagram under dense
    /// traffic, and none of spin's cost (up to 2 × window of CPU per datagram) at moderate rates.
    /// </summary>
    Adaptive,
}

/// <summary>
/// The explicit spin → yield → park back-off. Cost: spin and yield keep the thread runnable (100 % of a core, though
/// yield lets any other runnable thread go first) for up to the window after the last frame, and park costs nothing.
/// Under steady traffic above ~1/window datagrams per second, spin and yield never park.
/// </summary>
public readonly record struct IdleStrategy(IdleMode Mode, int WindowMicros)
{
    public const int DefaultWindowMicros = 2000;
    /// <summary>Adaptive stays awake only above 1 / window datagrams per second: 10,000/s by default.</summary>
    public const int DefaultAdaptiveWindowMicros = 100;

    public static IdleStrategy Park => new(IdleMode.Park, 0);

    /// <summary>
    /// The server's default. Its wake-up per datagram sits in front of every member's copy, and on a loaded host that
    /// wake-up is where the tail grows; below 1 / window datagrams per second it parks like <see cref="Park"/>.
    /// Clients keep <see cref="Park"/>: their loop carries one member's traffic (none with kernel delivery).
    /// </summary>
    public static IdleStrategy ServerDefault => new(IdleMode.Adaptive, DefaultAdaptiveWindowMicros);

    public static IdleStrategy Parse(string text)
    {
        // "adaptive", "spin", "yield", "park", optionally with ":MICROS" for the back-off window.
        string[] parts = text.Split(':', 2);
        IdleMode mode = parts[0] switch
        {
            "spin" => IdleMode.Spin, "yield" => IdleMode.Yield, "park" => IdleMode.Park, "adaptive" => IdleMode.Adaptive,
            _ => throw new ArgumentException($"unknown idle strategy '{text}' (expected adaptive, spin, yield or park, optionally :MICROS)"),
        };
        int window = mode == IdleMode.Adaptive ? DefaultAdaptiveWindowMicros : DefaultWindowMicros;
        if (parts.Length == 2 && (!int.TryParse(parts[1], out window) || window < 0 || window > 10_000_000))
            throw new ArgumentException($"idle window '{parts[1]}' is not a number of microseconds");
        return new IdleStrategy(mode, mode == IdleMode.Park ? 0 : window);
    }

    public override string ToString() => Mode == IdleMode.Park ? "park" : $"{Mode.ToString().ToLowerInvariant()}:{WindowMicros}";
}

/// <summary>What the loop does after an empty walk.</summary>
internal enum IdleStep { Spin, Yield, Park }

/// <summary>
/// Per-loop back-off state: call <see cref="OnWork"/> after a walk that found frames, <see cref="ShouldPark"/> after an
/// empty one. <see cref="Next"/> is the decision itself, on timestamps passed in, so it can be tested without a clock.
/// </summary>
internal struct IdleBackoff(IdleStrategy strategy)
{
    // The adaptive mode's running average of the gap between walks that found work, in Stopwatch ticks (1/8 weight
    // per sample: a few datagrams' worth of memory, so a change of rate shows within a few dozen datagrams).
    private long _gapAverage;
    private long _lastWork;
    private long _idleSince;

    public void OnWork()
    {
        // Only the adaptive mode needs the time of each batch; the others skip the clock read in the hot loop.
        if (strategy.Mode == IdleMode.Adaptive) OnWork(Stopwatch.GetTimestamp());
        else _idleSince = 0;
    }

    public void OnWork(long now)
    {
        if (_lastWork != 0)
        {
            // Capped at 4 windows, so one long pause (or the first datagram after an hour) moves the average by a
            // bounded step instead of keeping the loop parking for the next hundred datagrams.
            long gap = Math.Min(now - _lastWork, 4L * strategy.WindowMicros * Stopwatch.Frequency / 1_000_000);
            _gapAverage = _gapAverage == 0 ? gap : _gapAverage + (gap - _gapAverage) / 8;
        }
        _lastWork = now;
        _idleSince = 0;
    }

    /// <summary>Spins or yields once and returns false, or returns true when the caller should park in poll.</summary>
    public bool ShouldPark()
    {
        if (strategy.Mode == IdleMode.Park) return true; // without reading the clock
        switch (Next(Stopwatch.GetTimestamp()))
        {
            case IdleStep.Spin: Thread.SpinWait(10); return false;
            case IdleStep.Yield: Thread.Yield(); return false;
            default: _idleSince = 0; return true;
        }
    }

    public IdleStep Next(long now)
    {
        if (strategy.Mode == IdleMode.Park) return IdleStep.Park;
        if (_idleSince == 0) _idleSince = now;
        long idle = now - _idleSince;
        long window = strategy.WindowMicros * Stopwatch.Frequency / 1_000_000;
        long spinEnd, yieldEnd;
        switch (strategy.Mode)
        {
            case IdleMode.Spin: spinEnd = window; yieldEnd = 2 * window; break;
            case IdleMode.Yield: spinEnd = 0; yieldEnd = window; break;
            default:
                // Adaptive: sparse traffic (or none seen yet) parks at once; dense traffic waits up to two gaps. It
                // yields rather than spins: the thread may run at nice -10 (fixed, or while a backlog drains), and a
                // spin would hold its CPU against the sender it is waiting for whenever the two share a core
                // (measured: p99 lower in 4 of 6 alternating pairs, equal in one; see README Performance).
                if (_gapAverage == 0 || _gapAverage > window) return IdleStep.Park;
                spinEnd = 0; yieldEnd = 2 * _gapAverage; break;
        }
        if (idle < spinEnd) return IdleStep.Spin;
        if (idle < yieldEnd) return IdleStep.Yield;
        return IdleStep.Park;
    }
}
