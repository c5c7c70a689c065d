using Multicast.Bench;
using Multicast.Core.Packets;
using NUnit.Framework;

namespace Multicast.Tests.Bench;

/// <summary>
/// Every micro benchmark (bench/Multicast.Bench) set up and run once per parameter set, outside BenchmarkDotNet: a
/// setup that throws (a member list the config refuses, a framed path that fell back to the slow path) fails here,
/// not only when someone next runs the benchmarks.
/// </summary>
[TestFixture]
public class MicroBenchmarkTests
{
    [Test]
    public void Fanout_RunsForEveryParameterSet([Values(100, 1400)] int bytes, [Values(1, 8, 64, 1024)] int members)
    {
        var b = new FanoutBenchmarks { DatagramBytes = bytes, Members = members };
        b.Setup();
        try
        {
            b.MemcpyPerMember();
            b.Fanout();
            b.FanoutChecksumOffloaded();
            b.FanoutFramed();
            long before = GC.GetAllocatedBytesForCurrentThread();
            b.FanoutFramed();
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "the ring engine's copy path allocates nothing");
        }
        finally { b.Cleanup(); }
    }

    [Test]
    public void HopLatency_TimesEveryDatagramOfABatch_AndAllocatesNothing()
    {
        var b = new HopLatencyBenchmarks();
        b.Setup();
        try
        {
            b.ForwardBatch();
            b.ForwardBatchTimed();
            long before = GC.GetAllocatedBytesForCurrentThread();
            b.ForwardBatchTimed();
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "timing the hop allocates nothing");
            Assert.That(b.Timed, Is.EqualTo(2 * HopLatencyBenchmarks.Batch));
        }
        finally { b.Cleanup(); }
    }

    [Test]
    public void Classify_FindsTheGroupAndNothingElse()
    {
        var b = new ClassifyBenchmarks();
        b.Setup();
        Assert.That(b.ClassifyGroupHit(), Is.Not.Null);
        Assert.That(b.ClassifyNotAGroup(), Is.Null);
    }

    [Test]
    public void Rewrite_BothBodiesLeaveValidChecksums()
    {
        var b = new RewriteBenchmarks();
        b.Setup();
        for (int copy = 0; copy < 3; copy++)
        {
            b.RewriteOneCopyIncremental();
            AssertChecksumsValid(b.Packet, "incremental");
            b.RewriteOneCopyFullRecompute();
            AssertChecksumsValid(b.Packet, "full recompute");
        }
    }

    [Test]
    public void StatsFile_BothWaysWriteTheWholeFile()
    {
        var b = new StatsFileBenchmarks();
        b.Setup();
        try
        {
            b.TemporaryRenamedOver();
            b.TwinSwappedIn();
            string expected = StatsFileBenchmarks.ServerStats().ToJsonString();
            foreach (string path in new[] { b.Paths.Renamed, b.Paths.Swapped })
                Assert.That(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.ToJsonString(), Is.EqualTo(expected), path);
        }
        finally { b.Cleanup(); }
    }

    private static void AssertChecksumsValid(byte[] ip, string body)
    {
        Assert.That(Ipv4Header.Checksum(ip), Is.EqualTo(Ipv4Header.ComputeChecksum(ip)), $"{body}: IP header checksum");
        Assert.That(UdpHeader.Checksum(ip.AsSpan(20)), Is.EqualTo(UdpHeader.ComputeChecksum(ip)), $"{body}: UDP checksum");
    }

    [Test]
    public void ClientRestore_RunsForEveryParameterSet([Values(100, 1400)] int bytes)
    {
        var b = new ClientRestoreBenchmarks { DatagramBytes = bytes };
        b.Setup();
        b.Memcpy();
        b.Restore();
    }
}
