//! A hub in this process (port 0) and client profiles enrolled on it, as a clerk would.

use renkei_client::daemon::OfficeRt;
use renkei_client::profile::Profile;
use renkei_client::setup::{SetupRequest, setup};
use renkei_spec::calendar::{Date, FileSeq, YearMonth};
use renkei_testkit::hub::{DEMO_PASSWORD, TestHub};
use renkei_testkit::{GenFile, Generator, Office};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const MONTH: YearMonth = YearMonth { year: 2025, month: 6 };

pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "renkei-client-{tag}-{}-{}",
        std::process::id(),
        renkei_client::ui::random_token()[..8].to_owned()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Sets up a new PC for demo office `i` (0 居宅, 1 通所, 2 訪問) with a fresh enrolment code, the
/// way `renkei setup` does.
pub async fn set_up_pc(hub: &TestHub, home: &Path, i: usize) -> Profile {
    let o = &hub.offices[i];
    let code = hub.enrolment_code(&o.number).await;
    let p = setup(
        home,
        &SetupRequest {
            hub: hub.url(),
            office: o.number.clone(),
            login: o.admin.clone(),
            password: DEMO_PASSWORD.into(),
            code,
            label: format!("テスト端末{i}"),
            ca_pem: hub.ca_pem(),
            profile: None,
        },
    )
    .await
    .expect("setup");
    assert_eq!(p.settings.office_name, o.name, "the office's name is looked up at set-up");
    p
}

/// [`set_up_pc`], then its administrator logs in.
pub async fn enrol(hub: &TestHub, home: &Path, i: usize) -> Arc<OfficeRt> {
    let o = &hub.offices[i];
    let p = set_up_pc(hub, home, i).await;
    let rt = OfficeRt::open(p).await.unwrap();
    rt.login(&o.admin, DEMO_PASSWORD).await.expect("login");
    rt
}

/// The generator's view of a demo office.
pub fn office(hub: &TestHub, i: usize) -> Office {
    let o = &hub.offices[i];
    Office {
        number: renkei_spec::ids::OfficeNumber::parse(&o.number, false).unwrap(),
        kind: renkei_spec::ids::ServiceKind::parse(o.kind).unwrap(),
        name: o.name.clone(),
    }
}

pub fn seq(day: u8, hour: u8) -> FileSeq {
    FileSeq { date: Date::new(2025, 5, day).unwrap(), hour, minute: 0, second: 0 }
}

/// A service-slip unit (UPHOSOKU, UPPLAN, UPSIKYU) from office `from` to `to`.
pub fn slip_unit(hub: &TestHub, seed: u64, from: usize, to: usize, s: FileSeq) -> Vec<GenFile> {
    let mut g = Generator::new(seed);
    let clients = g.clients(3, 13, MONTH);
    g.service_slip_unit(&office(hub, from), &office(hub, to), None, &clients, MONTH, s)
}

pub fn write_files(dir: &Path, files: &[GenFile]) {
    std::fs::create_dir_all(dir).unwrap();
    for f in files {
        std::fs::write(dir.join(&f.name), &f.bytes).unwrap();
    }
}

pub fn profile_of(rt: &OfficeRt) -> Profile {
    rt.profile.try_read().expect("not locked").clone()
}
