using System.Text.Json.Nodes;

namespace Multicast.Cli.Bench;

/// <summary>
/// Where a latency run's tail came from. Every member copy at or above the p99 of all copies (members pooled) is put
/// in one of three places. At the member: it reached the member's interface (the kernel's receive timestamp) in less
/// than half its latency, so most of its wait came after that, in the member host's stack and its receiver waiting for
/// a CPU. Else after a sender stall: the sender was more than <see cref="StallNs"/> behind its schedule within the
/// preceding <see cref="WindowNs"/>, so it caught up in a burst that queued wherever delivery is not synchronous. Else
/// on the shared path: late before the member, with the sender on time: the proxy or the bridge. For a copy without a
/// receive timestamp the member is blamed when only some members got that datagram late (their receivers waited).
/// </summary>
public readonly record struct TailBreakdown(long P99Ns, long Copies, long AfterSenderStall, long Shared, long AtMember)
{
    public const long StallNs = 2_000_000;
    public const long WindowNs = 10_000_000;

    /// <param name="lateness">Per sequence number: ns the sender was behind its schedule when it sent it.</param>
    /// <param name="latency">Per member, per sequence number: one-way latency in ns, 0 = not received.</param>
    /// <param name="rate">The sender's fixed rate (datagrams/s), which turns the window into sequence numbers.</param>
    /// <param name="arrival">Per member, per sequence number: latency to the member's interface in ns (0 = none), or null.</param>
    public static TailBreakdown Compute(ReadOnlySpan<long> lateness, IReadOnlyList<long[]> latency, double rate, IReadOnlyList<long[]>? arrival = null)
    {
        var pooled = new List<long>();
        foreach (long[] member in latency)
            foreach (long v in member) if (v > 0) pooled.Add(v);
        if (pooled.Count == 0) return default;
        pooled.Sort();
        long p99 = MemberLatency.At(pooled, 0.99);

        long window = Math.Max(1, (long)(rate * WindowNs / 1e9));
        int count = latency.Max(m => m.Length);
        long copies = 0, afterStall = 0, shared = 0, atMember = 0;
        long lastStall = long.MinValue / 2;
        for (int seq = 0; seq < count; seq++)
        {
            if (seq < lateness.Length && lateness[seq] > StallNs) lastStall = seq;
            int late = 0;
            foreach (long[] member in latency)
                if (seq < member.Length && member[seq] >= p99 / 2) late++;
            for (int m = 0; m < latency.Count; m++)
            {
                long v = seq < latency[m].Length ? latency[m][seq] : 0;
                if (v < p99) continue;
                copies++;
                long reached = arrival is not null && m < arrival.Count && seq < arrival[m].Length ? arrival[m][seq] : 0;
                if (reached > 0 && 2 * reached < v) atMember++;
                else if (seq - lastStall <= window) afterStall++;
                else if (reached > 0 || 2 * late >= latency.Count) shared++;
                else atMember++;
            }
        }
        return new TailBreakdown(p99, copies, afterStall, shared, atMember);
    }

    private double Percent(long part) => Copies > 0 ? Math.Round(100.0 * part / Copies, 1) : 0;

    public JsonObject ToJson() => new()
    {
        ["p99_us"] = Math.Round(P99Ns / 1000.0, 1),
        ["copies"] = Copies,
        ["after_sender_stall_percent"] = Percent(AfterSenderStall),
        ["shared_path_percent"] = Percent(Shared),
        ["at_member_percent"] = Percent(AtMember),
    };

    public override string ToString() =>
        $"{Percent(AfterSenderStall),5:0.0} % after a sender stall, {Percent(Shared),5:0.0} % on the shared path, {Percent(AtMember),5:0.0} % at the member ({Copies} copies ≥ {P99Ns / 1000.0:0} µs)";
}

/// <summary>
/// Latency percentiles per member from per-datagram logs, then the mean over members (as the bench's other latency
/// figures).
/// </summary>
public readonly record struct MemberLatency(double P50Us, double P99Us, double P999Us)
{
    /// <summary>
    /// One-way latency measured from when the sender was due to send (its schedule) instead of when it did: the sender's
    /// lateness added to each copy's latency. A system that delivers inside the sender's own call (native, in-kernel)
    /// slows the sender down, and latency stamped at the actual send hides that wait; from the schedule it counts, as it
    /// does for a system that queues after the sender (a proxy). This is the usual correction for coordinated omission.
    /// </summary>
    public static MemberLatency? FromSchedule(ReadOnlySpan<long> lateness, IReadOnlyList<long[]> latency) => Compute(latency, lateness);

    /// <summary>The percentiles of the logged values themselves (e.g. latency to the members' interfaces).</summary>
    public static MemberLatency? Of(IReadOnlyList<long[]> latency) => Compute(latency, default);

    private static MemberLatency? Compute(IReadOnlyList<long[]> latency, ReadOnlySpan<long> lateness)
    {
        double p50 = 0, p99 = 0, p999 = 0;
        int members = 0;
        foreach (long[] member in latency)
        {
            var values = new List<long>(member.Length);
            for (int seq = 0; seq < member.Length; seq++)
                if (member[seq] > 0) values.Add(member[seq] + (seq < lateness.Length ? lateness[seq] : 0));
            if (values.Count == 0) continue;
            values.Sort();
            p50 += At(values, 0.5);
            p99 += At(values, 0.99);
            p999 += At(values, 0.999);
            members++;
        }
        return members == 0 ? null : new MemberLatency(Us(p50 / members), Us(p99 / members), Us(p999 / members));
    }

    /// <summary>The nearest-rank percentile of sorted values (q in (0, 1]).</summary>
    internal static long At(List<long> sorted, double q) => sorted[(int)Math.Min(sorted.Count - 1, Math.Max(0, (long)Math.Ceiling(sorted.Count * q) - 1))];

    private static double Us(double ns) => Math.Round(ns / 1000, 1);
}
