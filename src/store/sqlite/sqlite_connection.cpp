#include "store/sqlite/sqlite_connection.hpp"

namespace taskman::store::sqlite {

Status Connection::savepoint() {
  TM_SQLITE_TRY(db_->run_cached("SAVEPOINT job"));
  tx_.begin_job();
  job_kept_ = true;
  return {};
}

Status Connection::rollback_to_savepoint() {
  job_kept_ = false;
  return db_->run_cached("ROLLBACK TO job");
}

Status Connection::release_savepoint() {
  auto st = db_->run_cached("RELEASE job");
  tx_.end_job(job_kept_);
  return st;
}

}  // namespace taskman::store::sqlite
