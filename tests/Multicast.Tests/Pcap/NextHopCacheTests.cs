using Multicast.Core.DataPlane;
using Microsoft.Extensions.Logging.Abstractions;
using Multicast.Core.Packets;
using NUnit.Framework;

namespace Multicast.Tests.Pcap;

/// <summary>The platform-independent half of the Windows resolver (IP Helper stands behind INextHopSource).</summary>
public class NextHopCacheTests
{
    private const int Nic = 7, OtherNic = 9;
    private static readonly uint Member = IpAddressV4.Parse("172.16.1.1");
    private static readonly uint Remote = IpAddressV4.Parse("172.17.0.5");
    private static readonly uint Gateway = IpAddressV4.Parse("172.16.1.254");
    private static readonly uint Vpn = IpAddressV4.Parse("10.8.0.3");

    private sealed class FakeSource : INextHopSource
    {
        public readonly Dictionary<uint, (int Index, uint Hop)> Routes = new();
        public readonly Dictionary<uint, ulong> Neighbours = new();
        public readonly List<uint> Resolved = new();
        /// <summary>What the OS learns when asked to resolve (ARP answers).</summary>
        public readonly Dictionary<uint, ulong> Answers = new();

        /// <summary>Set: the source hears of route changes (as netlink does) and says so once per <see cref="Changed"/>.</summary>
        public bool HearsChanges;
        public bool Changed;
        public int RouteLookups;

        public bool RoutesChanged()
        {
            if (!HearsChanges) return true;
            bool changed = Changed;
            Changed = false;
            return changed;
        }

        public bool TryRoute(uint destination, out int interfaceIndex, out uint nextHop)
        {
            RouteLookups++;
            bool found = Routes.TryGetValue(destination, out var r);
            (interfaceIndex, nextHop) = r;
            return found;
        }

        public NeighbourState Neighbour(int interfaceIndex, uint nextHop, out ulong mac) =>
            Neighbours.TryGetValue(nextHop, out mac) ? NeighbourState.Resolved : NeighbourState.Unresolved;

        public void Resolve(int interfaceIndex, uint nextHop)
        {
            Resolved.Add(nextHop);
            if (Answers.TryGetValue(nextHop, out ulong mac)) Neighbours[nextHop] = mac;
        }
    }

    private static (FakeSource, NextHopCache) Create()
    {
        var source = new FakeSource();
        source.Routes[Member] = (Nic, Member);
        source.Routes[Remote] = (Nic, Gateway);
        source.Routes[Vpn] = (OtherNic, Vpn);
        return (source, new NextHopCache(source, Nic, NullLogger.Instance, startThread: false));
    }

    [Test]
    public void Unknown_IsSlowPath_ThenResolvedAfterRefresh()
    {
        (FakeSource source, NextHopCache cache) = Create();
        source.Neighbours[Member] = 0x02_00_00_00_00_01;
        Assert.That(cache.TryGetMac(Member, out _), Is.False, "a miss never blocks the data plane");
        Assert.That(cache.Misses, Is.EqualTo(1));
        cache.RefreshNow();
        Assert.That(cache.TryGetMac(Member, out ulong mac), Is.True);
        Assert.That(mac, Is.EqualTo(0x02_00_00_00_00_01UL));
    }

    [Test]
    public void ARefreshThatFindsNothingNew_KeepsTheSnapshot_AndAllocatesNothingPerMember()
    {
        (FakeSource source, NextHopCache cache) = Create();
        source.Neighbours[Gateway] = 0x02_00_00_00_00_FE;
        uint[] members = Enumerable.Range(1, 4096).Select(i => IpAddressV4.Parse("172.18.0.0") + (uint)i).ToArray();
        foreach (uint m in members) source.Routes[m] = (Nic, Gateway);
        cache.Watch(members);
        cache.RefreshNow();
        cache.RefreshNow(); // the pass's collections have grown to the member count
        Assert.That(cache.TryGetMac(members[^1], out _), Is.True);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) cache.RefreshNow();
        long perPass = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        // A new snapshot of 4,096 entries, and the sets of the pass, were ~300 KB a second, much of it large objects.
        Assert.That(perPass, Is.LessThan(1024), "bytes allocated per refresh pass");

        source.Neighbours[Gateway] = 0x02_00_00_00_00_FD; // the gateway's MAC changed: the next pass publishes it
        cache.RefreshNow();
        Assert.That(cache.TryGetMac(members[0], out ulong mac) && mac == 0x02_00_00_00_00_FDUL, Is.True);
    }

    [Test]
    public void WhenTheSourceHearsOfChanges_KnownRoutesAreKeptUntilOneIsHeard_ButMacsAreReadEveryPass()
    {
        (FakeSource source, NextHopCache cache) = Create();
        source.HearsChanges = true;
        source.Neighbours[Member] = 0x02_00_00_00_00_01;
        source.Neighbours[Gateway] = 0x02_00_00_00_00_FE;
        cache.Watch([Member, Remote]);
        cache.RefreshNow(); // the first pass looks every destination up
        Assert.That(source.RouteLookups, Is.EqualTo(2));

        source.RouteLookups = 0;
        source.Neighbours[Gateway] = 0x02_00_00_00_00_FD; // the gateway's MAC moved (a failover keeping its address)
        source.Routes[Remote] = (OtherNic, Vpn);          // and a route changed, unannounced as yet
        cache.RefreshNow();
        Assert.That(source.RouteLookups, Is.Zero, "no change heard: no route asked for");
        Assert.That(cache.TryGetMac(Remote, out ulong mac) && mac == 0x02_00_00_00_00_FDUL, Is.True, "the MAC is read every pass");

        source.Changed = true; // the kernel announces the route change
        cache.RefreshNow();
        Assert.That(source.RouteLookups, Is.EqualTo(2));
        Assert.That(cache.TryGetEntry(Remote, out NextHopEntry e) && e.Kind == NextHopKind.Elsewhere, Is.True, "the new route is used");

        // A lost notice: the safety net asks for every route again within FullPassEvery passes.
        source.Routes[Member] = (OtherNic, Member);
        for (int i = 0; i < NextHopCache.FullPassEvery; i++) cache.RefreshNow();
        Assert.That(cache.TryGetEntry(Member, out e) && e.Kind == NextHopKind.Elsewhere, Is.True);
    }

    [Test]
    public void RoutedDestination_UsesTheGatewaysMac()
    {
        (FakeSource source, NextHopCache cache) = Create();
        source.Neighbours[Gateway] = 0x02_00_00_00_00_FE;
        cache.Watch([Remote]);
        cache.RefreshNow();
        Assert.That(cache.TryGetMac(Remote, out ulong mac), Is.True);
        Assert.That(mac, Is.EqualTo(0x02_00_00_00_00_FEUL));
        Assert.That(cache.TryGetEntry(Remote, out NextHopEntry e) && e.NextHop == Gateway, Is.True);
    }

    [Test]
    public void UnresolvedNeighbour_StaysOnTheSlowPath_AndTheOsIsAskedToResolveIt()
    {
        (FakeSource source, NextHopCache cache) = Create();
        cache.Watch([Member, Remote]);
        source.Answers[Member] = 0x02_00_00_00_00_01;
        cache.RefreshNow();
        Assert.That(cache.TryGetMac(Member, out _), Is.False, "still resolving: the OS sends it meanwhile");
        Assert.That(cache.TryGetEntry(Member, out NextHopEntry e) ? e.Kind : default, Is.EqualTo(NextHopKind.Resolving));
        Assert.That(source.Resolved, Is.EquivalentTo(new[] { Member, Gateway }));
        cache.RefreshNow();
        Assert.That(cache.TryGetMac(Member, out _), Is.True, "picked up on the next refresh once ARP answered");
        Assert.That(cache.TryGetMac(Remote, out _), Is.False, "the gateway never answered");
    }

    [Test]
    public void OtherInterfaceOrNoRoute_IsLeftToTheOs_WithoutResolving()
    {
        (FakeSource source, NextHopCache cache) = Create();
        uint noRoute = IpAddressV4.Parse("192.0.2.1");
        source.Neighbours[Vpn] = 0x02_00_00_00_00_09;
        cache.Watch([Vpn, noRoute]);
        cache.RefreshNow();
        Assert.That(cache.TryGetMac(Vpn, out _), Is.False);
        Assert.That(cache.TryGetMac(noRoute, out _), Is.False);
        Assert.That(cache.TryGetEntry(Vpn, out NextHopEntry e) ? e.Kind : default, Is.EqualTo(NextHopKind.Elsewhere));
        Assert.That(source.Resolved, Is.Empty);
    }

    [Test]
    public void Refresh_FollowsMacChangesAndExpiry()
    {
        (FakeSource source, NextHopCache cache) = Create();
        source.Neighbours[Member] = 0x02_00_00_00_00_01;
        cache.Watch([Member]);
        cache.RefreshNow();
        source.Neighbours[Member] = 0x02_00_00_00_00_02;
        cache.RefreshNow();
        Assert.That(cache.TryGetMac(Member, out ulong mac) ? mac : 0, Is.EqualTo(0x02_00_00_00_00_02UL));
        source.Neighbours.Remove(Member);
        cache.RefreshNow();
        Assert.That(cache.TryGetMac(Member, out _), Is.False, "an expired neighbour drops back to the slow path");
    }

    [Test]
    public void Lookups_DoNotAllocate()
    {
        (FakeSource source, NextHopCache cache) = Create();
        source.Neighbours[Member] = 1;
        cache.Watch([Member]);
        cache.RefreshNow();
        uint unknown = IpAddressV4.Parse("172.16.1.77");
        for (int i = 0; i < 100; i++) { cache.TryGetMac(Member, out _); cache.TryGetMac(unknown, out _); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) { cache.TryGetMac(Member, out _); cache.TryGetMac(unknown, out _); }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void BackgroundThread_ResolvesAMissWithoutBeingAsked()
    {
        var source = new FakeSource();
        source.Routes[Member] = (Nic, Member);
        source.Neighbours[Member] = 5;
        using var cache = new NextHopCache(source, Nic, NullLogger.Instance, refresh: TimeSpan.FromSeconds(30));
        Assert.That(cache.TryGetMac(Member, out _), Is.False);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!cache.TryGetMac(Member, out _) && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Assert.That(cache.TryGetMac(Member, out _), Is.True, "the miss woke the refresher long before the 30 s period");
    }
}
