//! The scenarios: each drives the server from `--concurrency` workers for
//! `--seconds` through [`measure`] and prints one report per operation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use crate::accounts::Imported;
use crate::ceiling::{self};
use crate::stats::Outcome;
use crate::{Cli, outage, setup, signin, stats, stepups, tutorial, web};

/// Runs `op(worker)` from `concurrency` workers for `seconds` (after a
/// warm-up), paced to `--rate` if given.
async fn measure<F, Fut>(name: &str, cli: &Cli, op: F) -> anyhow::Result<stats::Report>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Outcome> + Send,
{
    let op = Arc::new(op);
    let warmup_end = Instant::now() + Duration::from_secs(1);
    let end = warmup_end + Duration::from_secs(cli.seconds);
    let interval = cli
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(cli.concurrency as f64 / r));
    let n_workers = cli.concurrency as f64;
    let mut workers = Vec::new();
    for w in 0..cli.concurrency {
        let op = op.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = stats::Samples::default();
            // Spread the workers' first slots over one interval.
            let mut slot = Instant::now()
                + interval.map_or(Duration::ZERO, |i| i.mul_f64(w as f64 / n_workers));
            loop {
                if let Some(i) = interval {
                    tokio::time::sleep_until(slot.into()).await;
                    slot += i;
                }
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let outcome = op(w).await;
                if started >= warmup_end {
                    samples.record(started.elapsed(), outcome);
                }
            }
            samples
        }));
    }
    // The server's CPU time and context switches over exactly the
    // measured window.
    let cpu = cli.server_pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(warmup_end.into()).await;
            let before = (stats::cpu_seconds(pid), stats::context_switches(pid));
            tokio::time::sleep_until(end.into()).await;
            let after = (stats::cpu_seconds(pid), stats::context_switches(pid));
            let cpu = after.0.zip(before.0).map(|(a, b)| a - b);
            let switches = after.1.zip(before.1).map(|(a, b)| a.saturating_sub(b));
            (cpu, switches)
        })
    });
    let mut all = stats::Samples::default();
    for w in workers {
        all.merge(w.await.context("worker panicked")?);
    }
    let mut report = all.report(name, Duration::from_secs(cli.seconds));
    if let Some(cpu) = cpu {
        (report.server_cpu_s, report.server_switches) =
            cpu.await.context("CPU sampler panicked")?;
    }
    Ok(report)
}

pub(crate) async fn ceiling(cli: &Cli) -> anyhow::Result<ceiling::Ceiling> {
    let c = ceiling::measure(
        cli.rp()?,
        cli.params(),
        Duration::from_secs(cli.ceiling_seconds),
    )
    .await?;
    eprintln!(
        "ceiling (in process, one core): webauthn-rs finish_securitykey_authentication {:.0}/s, argon2id verify {:.1}/s (m={} KiB, t={}, p={}); server cores: {}",
        c.webauthn_per_core,
        c.argon2_per_core,
        cli.argon2_memory_kib,
        cli.argon2_iterations,
        cli.argon2_parallelism,
        cli.cores()
    );
    Ok(c)
}

fn finish(cli: &Cli, reports: &[stats::Report]) {
    let rss = cli.server_pid.and_then(stats::rss_kib);
    stats::print(reports, rss, cli.concurrency, cli.cores(), cli.json);
}

pub(crate) async fn sign_in(cli: &Cli, imported: &Imported) -> anyhow::Result<()> {
    let c = ceiling(cli).await?;
    let client = cli.client()?;
    let rp_id = cli.rp()?.id;
    let state = signin::workers(cli.concurrency);
    let (n, imported, base, origin) = (
        cli.concurrency,
        Arc::new(imported.clone()),
        cli.base.clone(),
        cli.origin.clone(),
    );
    let mut report = measure("sign-in", cli, move |w| {
        let (state, imported, client, base, origin, rp_id) = (
            state.clone(),
            imported.clone(),
            client.clone(),
            base.clone(),
            origin.clone(),
            rp_id.clone(),
        );
        async move {
            let Some(slot) = state.get(w) else {
                return Outcome::Error("worker".into());
            };
            let browser = web::Browser::new(&client, &base, &origin);
            signin::once(slot, w, n, &imported, browser, &origin, &rp_id).await
        }
    })
    .await?;
    report.ceiling = Some((
        format!("argon2id × {} cores", cli.cores()),
        c.argon2_per_core * cli.cores() as f64,
    ));
    finish(cli, &[report]);
    Ok(())
}

/// Signed-in workers with the destination allow-listed, and the exchange.
async fn step_up_workers(
    cli: &Cli,
    client: &reqwest::Client,
    service_key: &str,
    imported: &Imported,
) -> anyhow::Result<(Arc<Vec<tokio::sync::Mutex<stepups::Worker>>>, web::Service)> {
    let rp_id = cli.rp()?.id;
    let state = stepups::prepare_all(
        cli.concurrency,
        imported,
        client,
        &cli.base,
        &cli.origin,
        &rp_id,
    )
    .await?;
    eprintln!(
        "{} accounts signed in with the destination allow-listed",
        cli.concurrency
    );
    Ok((state, web::Service::new(client, &cli.base, service_key)))
}

pub(crate) async fn step_ups(
    cli: &Cli,
    service_key: &str,
    imported: &Imported,
) -> anyhow::Result<()> {
    let c = ceiling(cli).await?;
    let client = cli.client()?;
    let (state, service) = step_up_workers(cli, &client, service_key, imported).await?;
    let origin = cli.origin.clone();
    let mut report = measure("step-up", cli, move |w| {
        let (state, service, origin) = (state.clone(), service.clone(), origin.clone());
        async move {
            let Some(slot) = state.get(w) else {
                return Outcome::Error("worker".into());
            };
            stepups::once(slot, &service, &origin).await
        }
    })
    .await?;
    report.ceiling = Some((
        format!("webauthn-rs verify × {} cores", cli.cores()),
        c.webauthn_per_core * cli.cores() as f64,
    ));
    finish(cli, &[report]);
    Ok(())
}

pub(crate) async fn api_keys(cli: &Cli, service_key: &str) -> anyhow::Result<()> {
    let key = setup::user_with_api_key(&cli.base, &cli.origin).await?;
    eprintln!(
        "set up one user with a read-scoped API key ({}…)",
        &key[..15]
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(cli.concurrency)
        .build()?;
    let healthz_url = format!("{}/healthz", cli.base);
    let client = http.clone();
    let health = measure("healthz", cli, move |_| {
        let (client, url) = (client.clone(), healthz_url.clone());
        async move { stats::outcome(client.get(url).send().await) }
    })
    .await?;
    let verify_url = format!("{}/v1/api-keys/verify", cli.base);
    let auth = format!("Bearer {service_key}");
    let body = json!({ "key": key, "scope": "read", "client_ip": "192.0.2.10" });
    let client = http.clone();
    let mut verify = measure("api-key verify", cli, move |_| {
        let (client, url, auth, body) = (
            client.clone(),
            verify_url.clone(),
            auth.clone(),
            body.clone(),
        );
        async move {
            stats::outcome(
                client
                    .post(url)
                    .header("authorization", auth)
                    .json(&body)
                    .send()
                    .await,
            )
        }
    })
    .await?;
    verify.ceiling = Some(("/healthz".into(), health.ops_per_sec));
    finish(cli, &[health, verify]);
    Ok(())
}

pub(crate) async fn tutorial_logins(cli: &Cli, users: usize) -> anyhow::Result<()> {
    let client = cli.client()?;
    let users = tutorial::register(users, cli.concurrency, &client, &cli.base, &cli.origin).await?;
    eprintln!("registered the tutorial's users");
    let turns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let origin = cli.origin.clone();
    let report = measure("tutorial login", cli, move |w| {
        let (users, origin, turns) = (users.clone(), origin.clone(), turns.clone());
        async move {
            let turn = turns.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match users.get(w) {
                Some(mine) => tutorial::login(mine, turn, &origin).await,
                None => Outcome::Error("worker".into()),
            }
        }
    })
    .await?;
    finish(cli, &[report]);
    Ok(())
}

pub(crate) async fn through_outage(
    cli: &Cli,
    service_key: &str,
    imported: &Imported,
    settle: u64,
) -> anyhow::Result<()> {
    let client = cli.client()?;
    let (state, service) = step_up_workers(cli, &client, service_key, imported).await?;
    let window = Duration::from_secs(cli.seconds);
    let seen = outage::drive(state, &service, &cli.origin, window).await?;
    let ready = format!("{}/readyz", cli.base);
    let deadline = Instant::now() + Duration::from_secs(settle);
    while !client
        .get(&ready)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        if Instant::now() > deadline {
            bail!("the server did not become ready within {settle} s after the run");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let audit = outage::audit(&service, outage::records(&seen)).await;
    println!("{}", outage::report(seen, audit, window));
    Ok(())
}
