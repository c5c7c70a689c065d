using System.Text.Json.Nodes;
using Multicast.Cli;
using Multicast.Cli.Daemon;
using Multicast.Cli.Lab;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>
/// `--rx-buffer SIZE`: how much the kernel queues for the data plane before it drops. Deep absorbs a publisher's burst
/// or a stall of the proxy's CPU; shallow bounds how stale a delivered datagram can be after an overload.
/// </summary>
[TestFixture]
public class CaptureBufferTests
{
    [Test]
    public void SizesAreParsedInBinaryUnits_WithinBounds()
    {
        Assert.That(DaemonOptions.Parse(["-R"]).CaptureBytes, Is.Null, "the engine's own default");
        Assert.That(DaemonOptions.Parse(["-R", "--rx-buffer", "512K"]).CaptureBytes, Is.EqualTo(512 << 10));
        Assert.That(DaemonOptions.Parse(["-R", "--rx-buffer=8m"]).CaptureBytes, Is.EqualTo(8 << 20));
        Assert.That(DaemonOptions.Parse(["-R", "--rx-buffer", "1G"]).CaptureBytes, Is.EqualTo(1 << 30));
        Assert.That(DaemonOptions.Parse(["-R", "--rx-buffer", "65536"]).CaptureBytes, Is.EqualTo(65536));
        foreach (string bad in new[] { "", "32K", "2G", "8MB", "x", "-1", "1.5M", "99999999999G" })
            Assert.That(() => DaemonOptions.Parse(["-R", "--rx-buffer", bad]),
                Throws.TypeOf<UsageException>().With.Message.EqualTo($"option --rx-buffer: '{bad}' is not a size from 64K to 1G (bytes, or with K, M or G)"), bad);
        Assert.That(DaemonOptions.IsDaemonOption("--rx-buffer"), Is.True, "the admin tools hand it to the daemon");
    }

    [Test]
    [Category("EndToEnd")]
    public void EachEngine_ReportsTheQueueItGot()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        string config = E2e.GroupToAllMembers(lab);
        (string Engine, string[] Args, long Expected)[] cases =
        [
            ("ring", [], 8 << 20),                          // the ring engine's default RX ring
            ("ring", ["--rx-buffer", "1M"], 1 << 20),       // 512 frames of 2 KiB
            ("socket", ["--rx-buffer", "256K"], 512 << 10), // the kernel doubles SO_RCVBUF for its bookkeeping
            ("pcap", ["--rx-buffer", "2M"], 2 << 20),
        ];
        foreach ((string engine, string[] args, long expected) in cases)
        {
            LabDaemon d = lab.StartServer(lab.Source, engine, config, null, args);
            try
            {
                Assert.That(() => BufferBytes(d), Is.EqualTo(expected).After(5000, 100), $"{engine} {string.Join(' ', args)}");
            }
            finally { d.Stop(); }
        }
    }

    [Test]
    [Category("EndToEnd")]
    public void AShallowQueue_DropsABurstItCannotHold_AndCountsEveryDrop()
    {
        using VpcLab lab = E2e.CreateLab(members: 1, nonMembers: 0);
        string config = E2e.GroupToAllMembers(lab);
        // 64 KiB holds 32 frames (16 pages of two): an unpaced sender outruns the fan-out by far more than that.
        LabDaemon shallow = lab.StartServer(lab.Source, "ring", config, null, "--rx-buffer", "64K");
        try
        {
            Assert.That(() => BufferBytes(shallow), Is.EqualTo(64 << 10).After(5000, 100));
            const int count = 20000;
            E2e.UnpacedBurst(lab, count);
            IReadOnlyDictionary<string, long> after = shallow.WaitForCounters(c => E2e.CopiesAccounted(c) >= count, TimeSpan.FromSeconds(10));
            string all = string.Join(", ", after.Select(kv => $"{kv.Key}={kv.Value}"));
            Assert.That(E2e.CopiesAccounted(after), Is.EqualTo(count), all);
            Assert.That(after["capture_drops"], Is.GreaterThan(0), "the burst overran 32 frames: " + all);
        }
        finally { shallow.Stop(); }
    }

    private static long BufferBytes(LabDaemon d)
    {
        try { return (long?)JsonNode.Parse(File.ReadAllText(d.StatsFile))?["capture_buffer_bytes"] ?? -1; }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException) { return -1; }
    }
}
