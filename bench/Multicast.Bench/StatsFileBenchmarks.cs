using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Multicast.Core.Config;
using Multicast.Linux;

namespace Multicast.Bench;

/// <summary>
/// The daemons' once-a-second stats file, a server's with one group of 4 members (~1.3 KB of JSON), written in the
/// temporary directory (on this VM the same ext4 file system as /etc/multicast): a new temporary renamed over the old
/// file (<see cref="ConfigFile.SaveAtomically"/>, what the daemons did before) against <see cref="StatsFile"/>'s
/// in-place write into a twin and one renameat2(RENAME_EXCHANGE). Both serialize the same JSON each time. The wall time
/// is mostly kernel time, which the project's PREEMPT_NONE kernel does not interrupt for the data plane.
/// </summary>
[MemoryDiagnoser]
public class StatsFileBenchmarks
{
    private string _dir = null!;
    private string _renamed = null!;
    private StatsFile _swapped = null!;
    private JsonObject _stats = null!;

    /// <summary>A server's stats as ServerDaemon.Stats lays them out, with plausible counter values.</summary>
    public static JsonObject ServerStats()
    {
        var counters = new JsonObject();
        foreach (string name in new[] { "captured", "captured_bytes", "forwarded", "copies_sent", "copy_bytes", "copies_dropped_tx_full",
                     "dropped_no_group", "dropped_malformed", "dropped_not_udp", "dropped_no_members", "checksums_completed",
                     "capture_drops", "priority_boosts" })
            counters[name] = 123_456_789L;
        var members = new JsonArray();
        for (int i = 0; i < 4; i++)
            members.Add(new JsonObject { ["member_ip"] = $"10.0.0.{11 + i}", ["copies_sent"] = 30_864_197L, ["copies_dropped"] = 0L });
        var group = new JsonObject
        {
            ["group_ip"] = "224.1.2.3", ["packets"] = 30_864_197L, ["bytes"] = 3_086_419_700L, ["copies_sent"] = 123_456_788L,
            ["copy_bytes"] = 12_345_678_800L, ["copies_dropped"] = 0L, ["members"] = members,
        };
        return new JsonObject
        {
            ["counters"] = counters,
            ["groups"] = new JsonArray(group),
            ["process"] = new JsonObject { ["cpu_seconds"] = 1234.567, ["gc_gen0"] = 0, ["gc_gen1"] = 0, ["gc_gen2"] = 0, ["allocated_bytes"] = 2_000_000L },
        };
    }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"statsfile-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(_dir);
        _renamed = Path.Combine(_dir, "renamed_stats.json");
        _stats = ServerStats();
        _swapped = new StatsFile(Path.Combine(_dir, "server_stats.json"));
        // Two writes, so that both the file and its twin exist, as in a daemon after its first second.
        _swapped.Write(_stats);
        _swapped.Write(_stats);
        ConfigFile.SaveAtomically(_renamed, _stats, durable: false);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Baseline = true)]
    public void TemporaryRenamedOver() => ConfigFile.SaveAtomically(_renamed, _stats, durable: false);

    [Benchmark]
    public void TwinSwappedIn() => _swapped.Write(_stats);

    /// <summary>For tests: the two files the benchmarks write.</summary>
    public (string Renamed, string Swapped) Paths => (_renamed, Path.Combine(_dir, "server_stats.json"));
}
