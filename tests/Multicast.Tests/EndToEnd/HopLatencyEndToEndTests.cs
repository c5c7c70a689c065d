using System.Text.Json.Nodes;
using Multicast.Cli.Lab;
using Multicast.Tests.Admin;
using NUnit.Framework;

namespace Multicast.Tests.EndToEnd;

/// <summary>
/// Each server engine reports its own hop (kernel capture stamp to the transmit call of the copies) in the stats file, so a user
/// on a real VPC can tell what the proxy adds without synchronised clocks.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
public class HopLatencyEndToEndTests
{
    [TestCase("ring")]
    [TestCase("socket")]
    [TestCase("pcap")]
    public void TheServer_MeasuresEveryDatagramItForwards(string engine)
    {
        using VpcLab lab = E2e.CreateLab(members: 2, nonMembers: 0);
        LabDaemon server = lab.StartServer(lab.Source, engine, E2e.GroupToAllMembers(lab));
        try
        {
            Assert.That(() => Hop(server)?["count"]?.GetValue<long>(), Is.EqualTo(0).After(5000, 100), "no traffic, nothing measured");
            const int count = 2000;
            LabProcess sender = lab.StartTool(lab.Source, "send", "--group", "224.1.2.3", "--port", "5000", "--count", count.ToString(),
                "--rate", "4000", "--size", "100", "--interface-ip", lab.Source.Address.ToString());
            Assert.That(E2e.Long(sender.WaitForJsonResult(TimeSpan.FromSeconds(30)), "sent"), Is.EqualTo(count));
            server.WaitForCounters(c => c.GetValueOrDefault("forwarded") >= count, TimeSpan.FromSeconds(10));

            Assert.That(() => Hop(server)?["count"]?.GetValue<long>(), Is.EqualTo(count).After(3000, 100),
                "each datagram measured once");
            JsonObject hop = Hop(server)!;
            TestContext.Out.WriteLine(hop.ToJsonString());
            double p50 = (double)hop["p50"]!, p99 = (double)hop["p99"]!, max = (double)hop["max"]!;
            Assert.That(p50, Is.GreaterThan(0), hop.ToJsonString());
            Assert.That(p50, Is.LessThanOrEqualTo(p99).And.LessThanOrEqualTo(max), hop.ToJsonString());
            // Both stamps are this host's CLOCK_REALTIME: a mismatch of clocks or of units would be seconds or years.
            Assert.That(max, Is.LessThan(1_000_000), "under a second: " + hop.ToJsonString());

            // multis_admin -P: since start, and since the previous -P (the first covers everything so far).
            ToolResult first = AdminHarness.Run(server.ConfigDir, "multis_admin", "-P");
            first.AssertOk();
            Assert.That(first.Out, Does.Match($@"hop_latency_us +:  p50 [\d.]+ .* over {count} datagrams since start"), first.Out);
            Assert.That(first.Out, Does.Match($@"hop_latency_us +:  p50 [\d.]+ .* over {count} datagrams since the last -P"), first.Out);
            ToolResult second = AdminHarness.Run(server.ConfigDir, "multis_admin", "-P");
            Assert.That(second.Out, Does.Contain("over 0 datagrams since the last -P"), second.Out);
        }
        finally { server.Stop(); }
    }

    private static JsonObject? Hop(LabDaemon d)
    {
        try { return JsonNode.Parse(File.ReadAllText(d.StatsFile))?["hop_latency_us"] as JsonObject; }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException) { return null; }
    }
}
