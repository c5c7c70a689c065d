using System.Diagnostics;
using Multicast.Linux.Ring;
using NUnit.Framework;

namespace Multicast.Tests.Unit;

/// <summary>The data plane's back-off after an empty ring walk, driven with made-up timestamps.</summary>
public class IdleStrategyTests
{
    private static long Micros(long us) => us * Stopwatch.Frequency / 1_000_000;

    [TestCase("park", IdleMode.Park, 0)]
    [TestCase("spin", IdleMode.Spin, IdleStrategy.DefaultWindowMicros)]
    [TestCase("yield:300", IdleMode.Yield, 300)]
    [TestCase("adaptive", IdleMode.Adaptive, IdleStrategy.DefaultAdaptiveWindowMicros)]
    [TestCase("adaptive:50", IdleMode.Adaptive, 50)]
    public void Parse_reads_the_mode_and_window(string text, IdleMode mode, int window)
    {
        IdleStrategy s = IdleStrategy.Parse(text);
        Assert.That((s.Mode, s.WindowMicros), Is.EqualTo((mode, window)));
        Assert.That(IdleStrategy.Parse(s.ToString()), Is.EqualTo(s), "ToString reads back as the same strategy");
    }

    [TestCase("busy", "unknown idle strategy")]
    [TestCase("spin:-1", "not a number of microseconds")]
    [TestCase("adaptive:x", "not a number of microseconds")]
    public void Parse_rejects_bad_text(string text, string message) =>
        Assert.That(() => IdleStrategy.Parse(text), Throws.ArgumentException.With.Message.Contains(message));

    [Test]
    public void Park_parks_at_once_even_under_dense_traffic()
    {
        var b = Steady(IdleStrategy.Park, gapUs: 10, out long now);
        Assert.That(b.Next(now), Is.EqualTo(IdleStep.Park));
    }

    [Test]
    public void Spin_spins_for_the_window_then_yields_for_the_window_then_parks()
    {
        var b = new IdleBackoff(IdleStrategy.Parse("spin:100"));
        long t0 = Micros(1_000);
        Assert.That(b.Next(t0), Is.EqualTo(IdleStep.Spin));
        Assert.That(b.Next(t0 + Micros(99)), Is.EqualTo(IdleStep.Spin));
        Assert.That(b.Next(t0 + Micros(100)), Is.EqualTo(IdleStep.Yield));
        Assert.That(b.Next(t0 + Micros(199)), Is.EqualTo(IdleStep.Yield));
        Assert.That(b.Next(t0 + Micros(200)), Is.EqualTo(IdleStep.Park));
        b.OnWork(t0 + Micros(300));
        Assert.That(b.Next(t0 + Micros(301)), Is.EqualTo(IdleStep.Spin), "work starts the window again");
    }

    [Test]
    public void Yield_yields_for_the_window_then_parks()
    {
        var b = new IdleBackoff(IdleStrategy.Parse("yield:100"));
        long t0 = Micros(1_000);
        Assert.That(b.Next(t0), Is.EqualTo(IdleStep.Yield));
        Assert.That(b.Next(t0 + Micros(99)), Is.EqualTo(IdleStep.Yield));
        Assert.That(b.Next(t0 + Micros(100)), Is.EqualTo(IdleStep.Park));
    }

    [Test]
    public void Adaptive_parks_before_it_has_seen_traffic()
    {
        var b = new IdleBackoff(IdleStrategy.Parse("adaptive:100"));
        Assert.That(b.Next(Micros(1_000)), Is.EqualTo(IdleStep.Park));
        b.OnWork(Micros(2_000));
        Assert.That(b.Next(Micros(2_001)), Is.EqualTo(IdleStep.Park), "one datagram gives no gap yet");
    }

    [Test]
    public void Adaptive_yields_for_two_gaps_when_datagrams_come_faster_than_the_window()
    {
        var b = Steady(IdleStrategy.Parse("adaptive:100"), gapUs: 50, out long last);
        Assert.That(b.Next(last + Micros(1)), Is.EqualTo(IdleStep.Yield), "yields, never spins: the sender may share the core");
        Assert.That(b.Next(last + Micros(60)), Is.EqualTo(IdleStep.Yield));
        Assert.That(b.Next(last + Micros(95)), Is.EqualTo(IdleStep.Yield));
        Assert.That(b.Next(last + Micros(110)), Is.EqualTo(IdleStep.Park), "parks after twice the gap, not after the window");
    }

    [Test]
    public void Adaptive_parks_at_once_when_datagrams_come_slower_than_the_window()
    {
        var b = Steady(IdleStrategy.Parse("adaptive:100"), gapUs: 500, out long last);
        Assert.That(b.Next(last + Micros(1)), Is.EqualTo(IdleStep.Park));
    }

    [Test]
    public void Adaptive_follows_a_change_of_rate_within_a_few_dozen_datagrams()
    {
        var b = Steady(IdleStrategy.Parse("adaptive:100"), gapUs: 20, out long t);
        // One long pause (traffic stopped, then resumed) moves the average by a bounded step: still awake.
        t += Micros(10_000_000);
        b.OnWork(t);
        Assert.That(b.Next(t + Micros(1)), Is.EqualTo(IdleStep.Yield));
        // The feed slows to 1,000/s: within 30 datagrams the loop parks at once.
        int datagrams = 0;
        while (b.Next(t + Micros(1)) != IdleStep.Park && datagrams < 1_000)
        {
            t += Micros(1_000);
            b.OnWork(t);
            datagrams++;
        }
        Assert.That(datagrams, Is.InRange(1, 30));
        // And it speeds up again: staying awake resumes within 30 datagrams.
        datagrams = 0;
        while (b.Next(t + Micros(1)) != IdleStep.Yield && datagrams < 1_000)
        {
            t += Micros(20);
            b.OnWork(t);
            datagrams++;
        }
        Assert.That(datagrams, Is.InRange(1, 30));
    }

    [Test]
    public void The_ring_server_defaults_to_adaptive_and_keeps_an_explicit_choice()
    {
        Assert.That(Multicast.Linux.EngineFactory.ServerRingOptions(null).Idle,
            Is.EqualTo(new IdleStrategy(IdleMode.Adaptive, IdleStrategy.DefaultAdaptiveWindowMicros)));
        Assert.That(Multicast.Linux.EngineFactory.ServerRingOptions(IdleStrategy.Park).Idle, Is.EqualTo(IdleStrategy.Park));
        Assert.That(RxRingOptions.Default.Idle, Is.EqualTo(IdleStrategy.Park), "clients park by default");
    }

    private static IdleBackoff Steady(IdleStrategy strategy, long gapUs, out long last)
    {
        var b = new IdleBackoff(strategy);
        last = Micros(1_000);
        for (int i = 0; i < 200; i++)
        {
            last += Micros(gapUs);
            b.OnWork(last);
        }
        return b;
    }
}
