using System.Text.Json;
using System.Text.Json.Nodes;
using Multicast.Cli.Daemon;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using Multicast.Linux;
using NUnit.Framework;

namespace Multicast.Tests.Admin;

/// <summary>The daemons' stats file: rewritten each second, and a reader always gets a whole file.</summary>
[TestFixture]
public class StatsFileTests
{
    private string _dir = null!;
    private string StatsPath => Path.Combine(_dir, "server_stats.json");
    private string Twin => Path.Combine(_dir, ".server_stats.json.next");

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"statsfile-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static JsonObject Stats(long copies, int groups) =>
        new()
        {
            ["counters"] = new JsonObject { ["copies_sent"] = copies },
            ["groups"] = new JsonArray(Enumerable.Range(0, groups).Select(g => (JsonNode?)new JsonObject { ["group_ip"] = $"224.1.2.{g}" }).ToArray()),
        };

    private long CopiesIn(string path) => JsonNode.Parse(File.ReadAllText(path))!["counters"]!["copies_sent"]!.GetValue<long>();

    [Test]
    public void EachWrite_ReplacesTheWholeFile_EvenWhenItShrinks()
    {
        var file = new StatsFile(StatsPath);
        file.Write(Stats(1, groups: 50));
        file.Write(Stats(2, groups: 40));
        file.Write(Stats(3, groups: 1)); // lands in the first write's (longer) file: it must be cut to length
        Assert.That(CopiesIn(StatsPath), Is.EqualTo(3));
        JsonNode? parsed = JsonNode.Parse(File.ReadAllText(StatsPath));
        Assert.That(parsed!["groups"]!.AsArray(), Has.Count.EqualTo(1), "nothing of the longer file is left behind");
        Assert.That(File.ReadAllText(StatsPath), Does.EndWith("}\n"));
    }

    [Test]
    public void OnLinux_TheFileIsSwappedWithItsTwin_NotRecreated()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("renameat2 is Linux's");
        var file = new StatsFile(StatsPath);
        file.Write(Stats(1, groups: 1));
        Assert.That(File.Exists(Twin), Is.False, "the first write becomes the file itself");
        file.Write(Stats(2, groups: 1));
        Assert.That(CopiesIn(StatsPath), Is.EqualTo(2));
        // The twin holds the previous figures: the two names were exchanged (a temporary renamed over the file leaves
        // no twin, and frees an inode on every write).
        Assert.That(CopiesIn(Twin), Is.EqualTo(1));
        file.Write(Stats(3, groups: 1));
        Assert.That((CopiesIn(StatsPath), CopiesIn(Twin)), Is.EqualTo((3L, 2L)));

        file.RemoveTwin();
        Assert.That(File.Exists(Twin), Is.False);
        Assert.That(CopiesIn(StatsPath), Is.EqualTo(3), "the figures stay for whoever reads them after the daemon stopped");
    }

    [Test]
    public void AFileDeletedUnderneath_IsWrittenAgain()
    {
        var file = new StatsFile(StatsPath);
        file.Write(Stats(1, groups: 1));
        file.Write(Stats(2, groups: 1));
        File.Delete(StatsPath);
        file.Write(Stats(3, groups: 1));
        Assert.That(CopiesIn(StatsPath), Is.EqualTo(3));
        file.Write(Stats(4, groups: 1));
        Assert.That(CopiesIn(StatsPath), Is.EqualTo(4));
    }

    [Test]
    public void ASymlinkedStatsFile_StaysALink_AndItsTargetIsSwapped()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("symlinks and renameat2 as on Linux");
        string elsewhere = Path.Combine(_dir, "tmpfs");
        Directory.CreateDirectory(elsewhere);
        string target = Path.Combine(elsewhere, "stats.json");
        File.WriteAllText(target, "{}");
        File.CreateSymbolicLink(StatsPath, target);

        var file = new StatsFile(StatsPath);
        for (int i = 1; i <= 3; i++)
        {
            file.Write(Stats(i, groups: 1));
            Assert.That(new FileInfo(StatsPath).LinkTarget, Is.EqualTo(target), $"write {i}: the link is where the admin put it");
            Assert.That(CopiesIn(target), Is.EqualTo(i), $"write {i} reached the file the link points to");
        }
        Assert.That(CopiesIn(StatsPath), Is.EqualTo(3));
        Assert.That(File.Exists(Twin), Is.False, "no twin beside the link");
        Assert.That(CopiesIn(Path.Combine(elsewhere, ".stats.json.next")), Is.EqualTo(2), "the twin sits beside the target, one write behind");

        // The admin points the link elsewhere: the next write follows it and the old target's twin goes.
        File.Delete(StatsPath);
        string moved = Path.Combine(_dir, "moved.json");
        File.CreateSymbolicLink(StatsPath, moved);
        file.Write(Stats(4, groups: 1));
        Assert.That(CopiesIn(moved), Is.EqualTo(4));
        Assert.That(CopiesIn(target), Is.EqualTo(3), "the old target keeps its last figures");
        Assert.That(File.Exists(Path.Combine(elsewhere, ".stats.json.next")), Is.False);
        file.RemoveTwin();
        Assert.That(Directory.GetFiles(_dir, ".*"), Is.Empty, "the daemon's stop leaves no twin behind");
    }

    [Test]
    public void TheServersStats_CostTheSameAllocationForFourMembersAsForFourThousand()
    {
        long PerWrite(int members)
        {
            var forwarder = new ServerForwarder();
            uint[] addresses = Enumerable.Range(0, members).Select(i => IpAddressV4.Parse("10.0.0.1") + (uint)i).ToArray();
            forwarder.Publish(new FanoutTable(new ServerConfig([new GroupConfig(IpAddressV4.Parse("224.1.2.3"), 5000, 0, addresses)]), null));
            var file = new StatsFile(StatsPath);
            void Render(Utf8JsonWriter w) { w.WriteStartObject(); ServerDaemon.WriteStats(w, forwarder, null); w.WriteEndObject(); }
            Action<Utf8JsonWriter> render = Render;
            for (int i = 0; i < 3; i++) file.Write(render); // the buffer grows to the document's size once
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++) file.Write(render);
            long perWrite = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
            JsonNode stats = JsonNode.Parse(File.ReadAllText(StatsPath))!;
            Assert.That(stats["groups"]![0]!["members"]!.AsArray(), Has.Count.EqualTo(members));
            Assert.That(stats["groups"]![0]!["members"]![members - 1]!["member_ip"]!.GetValue<string>(), Is.EqualTo(IpAddressV4.Format(addresses[^1])));
            return perWrite;
        }
        long small = PerWrite(4), large = PerWrite(4096);
        // What is left is per write (file handles, the counters' snapshot), not per member: 4,096 members as JSON
        // nodes were ~2 MB a write.
        Assert.That(large, Is.LessThan(small + 1024), $"bytes allocated per write: {small} with 4 members, {large} with 4096");
    }

    [Test]
    public void AReader_NeverSeesAPartialFile()
    {
        var file = new StatsFile(StatsPath);
        file.Write(Stats(0, groups: 1));
        using var done = new CancellationTokenSource();
        int reads = 0, broken = 0;
        var seen = new HashSet<int>();
        Task reader = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                string text;
                try { text = File.ReadAllText(StatsPath); }
                catch (FileNotFoundException) { broken++; continue; }
                try { seen.Add(JsonNode.Parse(text)!["groups"]!.AsArray().Count); }
                catch (JsonException) { broken++; }
                reads++;
            }
        });
        // Long and short files in turn: a write that truncated or wrote in place would show as broken JSON or a
        // missing file within a few hundred reads.
        for (int i = 1; i <= 2000; i++) file.Write(Stats(i, groups: i % 2 == 0 ? 200 : 1));
        done.Cancel();
        reader.Wait();
        Assert.That(broken, Is.Zero, $"{broken} of {reads} reads saw no file or a partial one");
        Assert.That(reads, Is.GreaterThan(100));
        Assert.That(seen, Is.SupersetOf(new[] { 1, 200 }), "the reader saw both versions");
    }
}
