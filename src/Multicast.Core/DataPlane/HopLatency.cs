using System.Text.Json.Nodes;
using HdrHistogram;

namespace Multicast.Core.DataPlane;

/// <summary>
/// How long the proxy held each captured datagram: from the kernel's capture timestamp to the transmit call that hands
/// its copies to the kernel. That is the proxy's own part of a copy's latency (its wait for a CPU, a backlog ahead of
/// the datagram, the fan-out), without the transmit itself, whose cost is the NIC driver's (and, in a lab whose members
/// share the host, their whole receive path). Both ends are this host's clock, so unlike an end-to-end measurement
/// it needs no clock sync between hosts.
/// </summary>
/// <remarks>
/// One writer, the data-plane thread: <see cref="Captured"/> per datagram only stores a timestamp;
/// <see cref="Transmitting"/> per batch records into an HdrHistogram <see cref="Recorder"/>, which lets the stats writer and
/// the control socket take what was recorded without stopping the writer. Nothing on the writer's side allocates.
/// </remarks>
public sealed class HopLatency
{
    // Nanoseconds, 2 significant digits (1 %), from 100 ns to a minute: about 25 KB per histogram.
    private const long LowestNs = 100, HighestNs = 60_000_000_000;
    private const int Digits = 2;

    private readonly Recorder _recorder = new(LowestNs, HighestNs, Digits, (id, low, high, digits) => new LongHistogram(id, low, high, digits));
    private readonly long[] _pending;
    private int _count;
    private long _unmeasured;

    private readonly object _snapshotLock = new();
    private readonly HistogramBase _total = new LongHistogram(LowestNs, HighestNs, Digits);
    private readonly HistogramBase _window = new LongHistogram(LowestNs, HighestNs, Digits);
    private HistogramBase? _interval;

    /// <summary>
    /// Now, on the clock of the kernel's capture stamps (CLOCK_REALTIME, which DateTime.UtcNow reads on Linux), in ns
    /// since the epoch at 100 ns granularity; allocates nothing.
    /// </summary>
    public static long NowNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <param name="batch">The most datagrams captured between two transmit calls (the receive loop's batch size).</param>
    public HopLatency(int batch) => _pending = new long[batch];

    /// <summary>A datagram captured at <paramref name="capturedAtNs"/> (ns since the epoch, the kernel's stamp).</summary>
    public void Captured(long capturedAtNs)
    {
        if (_count < _pending.Length) _pending[_count++] = capturedAtNs;
        else _unmeasured++; // a batch longer than the engine said it could be: counted, so the totals still add up
    }

    /// <summary>A datagram the kernel gave no capture stamp: counted as unmeasured, so the totals still add up.</summary>
    public void Unstamped() => _unmeasured++;

    /// <summary>The copies of everything captured since the last call are handed to the kernel now.</summary>
    public void Transmitting(long nowNs)
    {
        for (int i = 0; i < _count; i++)
            _recorder.RecordValue(Math.Clamp(nowNs - _pending[i], 0, HighestNs)); // a clock step must not throw
        _count = 0;
    }

    /// <summary>Since start, in µs: what the stats file shows (rewritten every second by one writer).</summary>
    public JsonObject Snapshot()
    {
        lock (_snapshotLock)
        {
            Collect();
            JsonObject result = Percentiles(_total);
            result["unmeasured"] = Volatile.Read(ref _unmeasured);
            return result;
        }
    }

    /// <summary>
    /// Since start and since the previous query (`since_last_query`), in µs: what `multis_admin -P` shows, so two
    /// queries bracket a window (a test, a benchmark run, a busy minute) without restarting the daemon.
    /// </summary>
    public JsonObject Query()
    {
        lock (_snapshotLock)
        {
            Collect();
            JsonObject result = Percentiles(_total);
            result["unmeasured"] = Volatile.Read(ref _unmeasured);
            result["since_last_query"] = Percentiles(_window);
            _window.Reset();
            return result;
        }
    }

    /// <summary>Moves what the writer recorded since the last call into the totals and the query window.</summary>
    private void Collect()
    {
        _interval = _recorder.GetIntervalHistogram(_interval);
        _total.Add(_interval);
        _window.Add(_interval);
    }

    private static JsonObject Percentiles(HistogramBase h) => new()
    {
        ["count"] = h.TotalCount,
        ["p50"] = Us(h, 50), ["p90"] = Us(h, 90), ["p99"] = Us(h, 99), ["p999"] = Us(h, 99.9),
        ["max"] = h.TotalCount == 0 ? 0 : Math.Round(h.GetMaxValue() / 1000.0, 1),
    };

    private static double Us(HistogramBase h, double percentile) =>
        h.TotalCount == 0 ? 0 : Math.Round(h.GetValueAtPercentile(percentile) / 1000.0, 1);
}
