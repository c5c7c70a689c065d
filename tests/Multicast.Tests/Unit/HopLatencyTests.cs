using System.Text.Json.Nodes;
using Multicast.Core.DataPlane;
using NUnit.Framework;

namespace Multicast.Tests.Unit;

/// <summary>The proxy's own hop, capture stamp to send, as the stats file reports it (µs, since start and last interval).</summary>
[TestFixture]
public class HopLatencyTests
{
    [Test]
    public void EachCapturedDatagram_IsMeasuredOnceAtTheSendThatFollows()
    {
        var hop = new HopLatency(batch: 128);
        const long now = 1_800_000_000_000_000_000;
        for (int us = 1; us <= 100; us++) hop.Captured(now - us * 1000L);
        hop.Transmitting(now);
        hop.Transmitting(now + 5_000_000); // a transmit with nothing captured since measures nothing

        JsonObject s = hop.Snapshot();
        Assert.That((long)s["count"]!, Is.EqualTo(100));
        Assert.That((double)s["p50"]!, Is.EqualTo(50).Within(1), "2 significant digits");
        Assert.That((double)s["p99"]!, Is.EqualTo(99).Within(1));
        Assert.That((double)s["max"]!, Is.EqualTo(100).Within(1));
        Assert.That(s.ContainsKey("since_last_query"), Is.False, "the stats file's view: since start");

        JsonObject first = hop.Query();
        Assert.That((long)first["since_last_query"]!["count"]!, Is.EqualTo(100), "the first query covers everything so far");
        hop.Captured(now - 7_000);
        hop.Transmitting(now);
        Assert.That((long)hop.Snapshot()["count"]!, Is.EqualTo(101), "the stats file's snapshots do not end a query's window");
        JsonObject next = hop.Query();
        Assert.That((long)next["count"]!, Is.EqualTo(101), "totals keep everything since start");
        Assert.That((long)next["since_last_query"]!["count"]!, Is.EqualTo(1), "the window: what came since the last query");
        Assert.That((double)next["since_last_query"]!["max"]!, Is.EqualTo(7).Within(0.1));
        Assert.That((long)hop.Query()["since_last_query"]!["count"]!, Is.EqualTo(0));
    }

    [Test]
    public void AClockStep_IsClampedRatherThanThrown()
    {
        var hop = new HopLatency(batch: 4);
        const long now = 1_800_000_000_000_000_000;
        hop.Captured(now + 2_000); // the clock stepped back between capture and send
        hop.Captured(0);           // a stamp from 1970: decades, clamped to the histogram's minute
        hop.Transmitting(now);
        JsonObject s = hop.Snapshot();
        Assert.That((long)s["count"]!, Is.EqualTo(2));
        Assert.That((double)s["p50"]!, Is.LessThanOrEqualTo(0.1), "the histogram's lowest bucket");
        Assert.That((double)s["max"]!, Is.EqualTo(60_000_000).Within(600_000));
    }

    [Test]
    public void Measuring_AllocatesNothingPerDatagram()
    {
        var hop = new HopLatency(batch: 64);
        void Run(int datagrams)
        {
            for (int i = 1; i <= datagrams; i++)
            {
                long now = HopLatency.NowNs(); // as the engines read it
                hop.Captured(now - 30_000);
                if (i % 16 == 0) hop.Transmitting(now);
            }
        }
        Run(2_000); // warm up (tiering)
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(20_000);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0));
        Assert.That((long)hop.Snapshot()["count"]!, Is.EqualTo(22_000));
    }

    [Test]
    public void ABatchLongerThanAnnounced_OrAnUnstampedFrame_IsCountedAsUnmeasured()
    {
        var hop = new HopLatency(batch: 2);
        const long now = 1_800_000_000_000_000_000;
        for (int i = 0; i < 5; i++) hop.Captured(now - 10_000);
        hop.Unstamped(); // a frame the kernel gave no stamp
        hop.Transmitting(now);
        JsonObject s = hop.Snapshot();
        Assert.That(((long)s["count"]!, (long)s["unmeasured"]!), Is.EqualTo((2L, 4L)), "every datagram is in one of the two");
    }

    [Test]
    public void AnEmptyHistogram_ReportsZeros()
    {
        JsonObject s = new HopLatency(batch: 4).Snapshot();
        Assert.That((long)s["count"]!, Is.EqualTo(0));
        Assert.That((double)s["p99"]!, Is.EqualTo(0));
    }
}
